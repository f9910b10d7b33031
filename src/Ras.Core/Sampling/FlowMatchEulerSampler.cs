using System.Diagnostics;
using Ras.Errors;
using Ras.Models.Common;
using Ras.Native;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>
/// The flow-matching Euler loop with classifier-free guidance, as diffusers'
/// <c>StableDiffusion3Pipeline.__call__</c> and <c>LuminaText2ImgPipeline.__call__</c> run it from given latents and
/// prompt embeddings; the denoiser's <see cref="SamplingConvention"/> says how its family's time, batch order,
/// guidance and velocity sign map onto the loop. Runs under inference mode with one dispose scope per step; an
/// optional <see cref="ISamplerStepObserver"/> (RAS) wraps each model call.
/// </summary>
public static class FlowMatchEulerSampler
{
    /// <summary>
    /// Denoises <paramref name="initialLatents"/> <c>[B, C, H, W]</c> along <paramref name="schedule"/> (the full
    /// <see cref="SamplerOptions.Steps"/>-step schedule; the run starts at <see cref="SamplerOptions.StartStep"/>) and
    /// returns the final float32 latents (those of the last finished step when <see cref="SamplerOptions.Stop"/> ends the run early).
    /// </summary>
    /// <exception cref="OptionsException">Invalid options, or conditioning that does not match the guidance setting.</exception>
    /// <exception cref="NonFiniteException">The model produced NaN or infinite values.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between steps.</exception>
    public static Tensor Sample(
        IDenoiser denoiser,
        FlowMatchSchedule schedule,
        Tensor initialLatents,
        SamplerOptions options,
        ISamplerStepObserver? observer = null,
        IProgress<SamplerProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(initialLatents);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int copies = options.UsesCfg ? 2 : 1;
        if (denoiser.GuidanceCopies != copies)
        {
            throw new OptionsException("guidance",
                options.UsesCfg ? "guidance > 1 needs negative (unconditional) prompt embeddings" : "conditioning was prepared for guidance but guidance ≤ 1");
        }

        if (schedule.Steps != options.Steps)
        {
            throw new ArgumentException($"the schedule has {schedule.Steps} steps but the options ask for {options.Steps}", nameof(schedule));
        }

        FlowMatchSchedule remaining = schedule.From(options.StartStep);
        SamplingConvention convention = denoiser.Convention;
        float[] modelTimesteps = [.. remaining.Timesteps.Select(t => convention.ModelTimestep(t, remaining.NumTrainTimesteps))];
        var run = new SamplingRun(remaining, initialLatents.shape, denoiser.PatchSize, copies, initialLatents.device);
        observer?.OnStart(run);
        var clock = Stopwatch.StartNew();

        using var inference = torch.inference_mode();
        Tensor latents;
        using (Tensor asFloat = initialLatents.to_type(ScalarType.Float32))
        {
            latents = asFloat.clone();
        }

        try
        {
            for (int i = 0; i < remaining.Steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (options.Stop.IsCancellationRequested)
                {
                    break;   // stopped early: the latents of the last finished step are the result
                }

                Tensor next;
                using (CollectionPause.Begin()) // TorchSharp's implicit scalars must not be finalized mid-call
                {
                    next = DenoiseStep(denoiser, observer, latents, remaining, modelTimesteps[i], i, copies, options.CfgScale);
                }

                latents.Dispose();
                latents = next;
                NativeHeap.Trim();
                if (progress is not null)
                {
                    LatentPreview? preview = null;
                    if (options.Preview is not null)
                    {
                        using var previewScope = NewDisposeScope();
                        preview = options.Preview(latents);
                    }

                    progress.Report(new SamplerProgress(i, remaining.Steps, observer?.ComputedTokens(i) ?? run.TokenCount, run.TokenCount, clock.Elapsed, preview));
                }
            }

            return latents;
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    /// <summary>One step in its own dispose scope: model call (with the observer around it), guidance, Euler update.</summary>
    private static Tensor DenoiseStep(IDenoiser denoiser, ISamplerStepObserver? observer, Tensor latents, FlowMatchSchedule schedule,
        float modelTimestep, int i, int copies, double guidanceScale)
    {
        using var scope = NewDisposeScope();
        ITokenRouting? routing = observer?.BeforeModel(i);
        Tensor modelInput = copies == 1 ? latents : cat([latents, latents], 0);
        Tensor t = full([latents.shape[0] * copies], modelTimestep, ScalarType.Float32, latents.device);
        Tensor output = denoiser.Predict(modelInput, t, routing);
        Tensor velocity = denoiser.Convention.Velocity(output, latents.shape[1], copies, guidanceScale);
        velocity = observer?.AfterModel(i, velocity) ?? velocity;
        Tensor next = FlowMatchEulerDiscreteScheduler.Step(latents, velocity, schedule, i);
        if (!next.isfinite().all().item<bool>())
        {
            throw new NonFiniteException($"step {i} of {schedule.Steps}: the latents contain NaN or infinite values (model output diverged)");
        }

        return next.MoveToOuterDisposeScope();
    }
}
