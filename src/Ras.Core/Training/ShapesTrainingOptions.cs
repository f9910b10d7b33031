using Ras.Errors;
using Ras.Models.Shapes;
using Ras.Models.SD3;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Training;

/// <summary>Hyper-parameters of the default model's training (rectified flow, as SD3 trains).</summary>
public sealed record ShapesTrainingOptions
{
    /// <summary>Seed of weights, data order, noise and timesteps. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Images per optimizer step. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak AdamW learning rate. Default 4e-4.</summary>
    public double LearningRate { get; init; } = 4e-4;

    /// <summary>Linear warm-up steps. Default 500.</summary>
    public int WarmupSteps { get; init; } = 500;

    /// <summary>
    /// Step at which the learning-rate schedule (warm-up, then cosine to <see cref="TotalSteps"/>) starts: 0, or the step
    /// of the model a warm restart continued (<see cref="ShapesTrainer.WarmRestart"/>), whose optimizer moments start
    /// fresh and so need a warm-up again. Default 0.
    /// </summary>
    public long ScheduleStart { get; init; }

    /// <summary>Steps of the cosine schedule (down to 10% of the peak; constant after). May change when a run resumes. Default 12000.</summary>
    public long TotalSteps { get; init; } = 12_000;

    /// <summary>
    /// SD3's timestep shift <c>s</c>: each logit-normal draw <c>t</c> becomes <c>s·t / (1 + (s − 1)·t)</c>, and the
    /// exported sampling schedule uses the same shift. Default 3 (SD3's value): these flat-coloured scenes are still
    /// legible at t ≈ 0.7, so unshifted training spends almost nothing (P(t > 0.8) = 8 %) on the noise levels where only
    /// the caption says what to draw. (The shipped model's first recipe trained with 1.)
    /// </summary>
    public double TimestepShift { get; init; } = 3.0;

    /// <summary>AdamW decoupled weight decay. Default 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>EMA decay of the shipped weights. Default 0.999.</summary>
    public double EmaDecay { get; init; } = 0.999;

    /// <summary>Probability of training on the empty prompt (for classifier-free guidance). Default 0.1.</summary>
    public double CaptionDropout { get; init; } = 0.1;

    /// <summary>Global gradient-norm clip. Default 1.0.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Use only the first N scenes of the training stream (cycled); null for the endless stream. For tests and overfitting checks.</summary>
    public long? DistinctScenes { get; init; }

    /// <summary>Transformer architecture. Default: <see cref="ShapesModelDefinition.Transformer"/>.</summary>
    public SD3TransformerConfig Transformer { get; init; } = ShapesModelDefinition.Transformer;

    /// <summary>Text-encoder architecture. Default: <see cref="ShapesModelDefinition.TextEncoder"/>.</summary>
    public ShapesTextEncoderConfig TextEncoder { get; init; } = ShapesModelDefinition.TextEncoder;

    /// <summary>Throws <see cref="OptionsException"/> for values that cannot train.</summary>
    public void Validate()
    {
        if (BatchSize < 1)
        {
            throw new OptionsException("batch-size", $"must be at least 1, found {BatchSize}");
        }

        if (!(LearningRate > 0))
        {
            throw new OptionsException("learning-rate", $"must be positive, found {LearningRate}");
        }

        if (TotalSteps < 1)
        {
            throw new OptionsException("total-steps", $"must be at least 1, found {TotalSteps}");
        }

        if (ScheduleStart < 0 || ScheduleStart >= TotalSteps)
        {
            throw new OptionsException("total-steps", $"must be past the step the schedule starts at ({ScheduleStart}), found {TotalSteps}");
        }

        if (!(TimestepShift > 0 && double.IsFinite(TimestepShift)))
        {
            throw new OptionsException("timestep-shift", $"must be a positive number, found {TimestepShift}");
        }

        if (!(CaptionDropout >= 0 && CaptionDropout < 1))
        {
            throw new OptionsException("caption-dropout", $"must be in [0, 1), found {CaptionDropout}");
        }
    }

    /// <summary>Applies <see cref="TimestepShift"/> to training timesteps <paramref name="t"/> in (0, 1).</summary>
    public Tensor ShiftTimesteps(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (TimestepShift == 1.0)
        {
            return t.alias();
        }

        using Scalar shift = TimestepShift.ToScalar(), shiftMinusOne = (TimestepShift - 1).ToScalar(), one = 1.0.ToScalar();
        using Tensor numerator = t.mul(shift);
        using Tensor denominator = t.mul(shiftMinusOne).add_(one);
        return numerator.div(denominator);
    }

    /// <summary>
    /// Learning rate at <paramref name="step"/>: from <see cref="ScheduleStart"/>, linear warm-up, then cosine to 10% at
    /// <see cref="TotalSteps"/>.
    /// </summary>
    public double LearningRateAt(long step)
    {
        long local = Math.Max(0, step - ScheduleStart);
        if (local < WarmupSteps)
        {
            return LearningRate * (local + 1) / WarmupSteps;
        }

        double progress = Math.Min(1.0, (local - WarmupSteps) / (double)Math.Max(1, TotalSteps - ScheduleStart - WarmupSteps));
        return LearningRate * (0.1 + (0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }
}
