using Ras.Errors;
using Ras.Models.Common;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>The RAS options beyond the official algorithm (ratio ramp, delta metric, dilation): their effect on the active set.</summary>
public sealed class RasIdeasTests
{
    [Fact]
    public void A_ratio_ramp_moves_the_skipped_count_linearly_over_the_ras_steps()
    {
        var plan = RasPlan.Create(new RasOptions { SampleRatio = 0.9, SampleRatioEnd = 0.1, SchedulerStartStep = 2, ErrorResetSteps = [] }, 10, 10, 10);

        // Steps 2 … 10: ratio 0.9 → 0.1 in 8 equal moves of 0.1; skipped = int((1 − ratio)·100).
        int[] expected = [0, 0, .. Enumerable.Range(0, 8).Select(k => (int)((1 - (0.9 + ((0.1 - 0.9) * k / 8.0))) * 100))];
        Assert.Equal(expected, plan.SkipCounts);
        Assert.Equal((int)((1 - 0.9) * 100), plan.SkipCounts[2]);             // truncated, as the official static count
        Assert.Equal((int)((1 - (0.9 - 0.7)) * 100), plan.SkipCounts[9]);
        Assert.True(new RasOptions { SampleRatio = 1.0, SampleRatioEnd = 0.5 }.Enabled);
        Assert.Equal("sample-ratio-end", Assert.Throws<OptionsException>(() => new RasOptions { SampleRatioEnd = 0 }.Validate(10)).Option);
        Assert.Equal("sample-ratio-end", Assert.Throws<OptionsException>(() => new RasOptions { SampleRatioEnd = 0.5, SkipNumStepLength = 2 }.Validate(10)).Option);
    }

    [Fact]
    public void Dilation_spreads_each_score_over_its_neighbourhood()
    {
        using var scope = NewDisposeScope();
        Tensor score = zeros(1, 20, ScalarType.Float64);                 // a 4 × 5 grid
        score[0, 7] = tensor(5.0);                                       // row 1, column 2
        Tensor dilated = TokenMetric.Dilate(score, 4, 5, 1);
        double[] values = dilated.data<double>().ToArray();
        int[] neighbours = [1, 2, 3, 6, 7, 8, 11, 12, 13];
        Assert.All(Enumerable.Range(0, 20), k => Assert.Equal(neighbours.Contains(k) ? 5.0 : 0.0, values[k]));
        Assert.True(TensorAssert.Same(score, TokenMetric.Dilate(score, 4, 5, 0)));
        Assert.Equal("dilate", Assert.Throws<OptionsException>(() => new RasOptions { Dilate = -1 }.Validate(10)).Option);
    }

    [Fact]
    public void The_delta_metric_computes_where_the_velocity_changed_and_dilation_adds_the_neighbours()
    {
        // A velocity that is constant in time except on one token: with high-ratio 0 (cache the lowest scores), delta keeps
        // exactly the changing token computed, std (the update's spread) does not; dilation adds its 3 × 3 neighbourhood.
        var options = new RasOptions { SampleRatio = 0.1, HighRatio = 0, Metric = RasMetric.Delta, SchedulerStartStep = 3, ErrorResetSteps = [], StarvationScale = 0 };
        long[] active = FirstActive(options);
        Assert.Contains(ChangingToken, active);
        Assert.Equal(5, active.Length);                                  // 50 tokens · 0.1

        long[] dilated = FirstActive(options with { Dilate = 1, SampleRatio = 0.2 });
        Assert.Superset(new HashSet<long>([ChangingToken - 11, ChangingToken - 10, ChangingToken - 9, ChangingToken - 1, ChangingToken,
            ChangingToken + 1, ChangingToken + 9, ChangingToken + 10, ChangingToken + 11]), new HashSet<long>(dilated));

        long[] std = FirstActive(options with { Metric = RasMetric.Std });
        Assert.DoesNotContain(ChangingToken, std);
    }

    private const long ChangingToken = 23;                               // row 2, column 3 of a 5 × 10 grid

    /// <summary>The tokens the first RAS step computes when the model's output changes over time only at <see cref="ChangingToken"/>.</summary>
    private static long[] FirstActive(RasOptions options)
    {
        using var session = new RasSession(options);
        var denoiser = new ScriptedDenoiser();
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });
        using Tensor latents = zeros(1, 4, 10, 20);
        using Tensor result = FlowMatchEulerSampler.Sample(denoiser, scheduler.SetTimesteps(5), latents, new SamplerOptions { Steps = 5, CfgScale = 1 }, session);
        return session.Records.First(r => r.Kind == RasStepKind.Sparse).ActiveTokens![0];
    }

    /// <summary>
    /// Output: a fixed pattern whose spread over channels grows across the image but is 0 at <see cref="ChangingToken"/> (so the
    /// std metric ranks it lowest), plus, at that token, a value added to every channel that grows with every call.
    /// </summary>
    private sealed class ScriptedDenoiser : IDenoiser
    {
        private int calls;

        public int PatchSize => 2;

        public int GuidanceCopies => 1;

        public SamplingConvention Convention => SamplingConvention.StableDiffusion3;

        public Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing)
        {
            calls++;
            using var scope = NewDisposeScope();
            Tensor channel = arange(4, ScalarType.Float32).view(1, 4, 1, 1);
            Tensor spread = arange(10, ScalarType.Float32).view(1, 1, 10, 1).add(arange(20, ScalarType.Float32).view(1, 1, 1, 20)).mul(0.1f).add(1f);
            long row = ChangingToken / 10 * 2, col = ChangingToken % 10 * 2;
            spread.narrow(2, row, 2).narrow(3, col, 2).fill_(0f);
            Tensor output = channel.mul(spread);                                      // [1, 4, 10, 20]
            output.narrow(2, row, 2).narrow(3, col, 2).add_(calls * 0.01f);
            return output.MoveToOuterDisposeScope();
        }
    }
}
