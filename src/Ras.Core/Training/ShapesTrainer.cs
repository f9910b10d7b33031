using System.Text.Json;
using Ras.Data.Shapes;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Safetensors;
using Ras.Models.Shapes;
using Ras.Models.SD3;
using Ras.Native;
using Ras.Pipelines;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Training;

/// <summary>One logged point of the training curve.</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="Loss">Mean loss over the steps since the previous point.</param>
/// <param name="Seconds">Training wall time so far, over all runs.</param>
public sealed record LossPoint(long Step, double Loss, double Seconds);

/// <summary>A resume that changed the length of the learning-rate schedule, or a warm restart that began a new one.</summary>
/// <param name="Step">Optimizer steps done when the new schedule took over.</param>
/// <param name="FromTotalSteps">The schedule's length before.</param>
/// <param name="ToTotalSteps">The schedule's length after.</param>
/// <param name="WarmRestart">True when training restarted from exported weights with fresh optimizer moments and a new warm-up.</param>
public sealed record ScheduleChange(long Step, long FromTotalSteps, long ToTotalSteps, bool WarmRestart = false);

/// <summary>
/// Trains the default model (<see cref="ShapesModelDefinition"/>) with the rectified-flow objective SD3 uses:
/// <c>x_t = (1 − t)·x₀ + t·ε</c>, target <c>ε − x₀</c>, <c>t = sigmoid(N(0, 1))</c> (logit-normal) shifted as SD3 shifts it, AdamW, EMA
/// weights, caption dropout for CFG. Deterministic by seed: step s trains on scenes s·B … s·B + B − 1 of the
/// training stream with noise from a generator seeded by (seed, s). Resumable: a checkpoint holds the
/// weights, EMA weights, optimizer moments and the loss curve.
/// </summary>
public sealed class ShapesTrainer : IDisposable
{
    private const string CheckpointFile = "checkpoint.safetensors";
    private const string StateFile = "state.json";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly string directory;
    private readonly WordTokenizer tokenizer;
    private readonly SD3Transformer2DModel transformer;
    private readonly ShapesTextEncoder textEncoder;
    private readonly SD3Transformer2DModel emaTransformer;
    private readonly ShapesTextEncoder emaTextEncoder;
    private readonly ExponentialMovingAverage emaOfTransformer;
    private readonly ExponentialMovingAverage emaOfTextEncoder;
    private readonly AdamW optimizer;
    private readonly List<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters;
    private readonly List<LossPoint> curve = [];
    private readonly List<ScheduleChange> scheduleChanges = [];
    private readonly IDisposable heapLease;
    private double pendingLoss;
    private int pendingCount;

    /// <summary>Opens (or starts) a training run whose checkpoints live in <paramref name="checkpointDirectory"/>.</summary>
    public ShapesTrainer(ShapesTrainingOptions options, string checkpointDirectory)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        directory = checkpointDirectory;
        tokenizer = new WordTokenizer(ShapesModelDefinition.Vocabulary, options.TextEncoder.MaxPositionEmbeddings);
        manual_seed((long)options.Seed);
        transformer = new SD3Transformer2DModel(options.Transformer);
        textEncoder = new ShapesTextEncoder(options.TextEncoder);
        ZeroInitialiseModulation(transformer);
        emaTransformer = new SD3Transformer2DModel(options.Transformer);
        emaTextEncoder = new ShapesTextEncoder(options.TextEncoder);
        emaOfTransformer = new ExponentialMovingAverage(transformer, emaTransformer);
        emaOfTextEncoder = new ExponentialMovingAverage(textEncoder, emaTextEncoder);
        parameters = [.. transformer.named_parameters().Select(p => ("transformer." + p.name, p.parameter)),
            .. textEncoder.named_parameters().Select(p => ("text_encoder." + p.name, p.parameter))];
        optimizer = new AdamW(parameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList(), weightDecay: options.WeightDecay);
        if (File.Exists(Path.Combine(directory, CheckpointFile)))
        {
            Resume();
        }

        heapLease = NativeHeap.ReuseFreedMemory(); // last: nothing after it can throw and leak the lease
    }

    /// <summary>The hyper-parameters.</summary>
    public ShapesTrainingOptions Options { get; }

    /// <summary>The options of the checkpoint in <paramref name="checkpointDirectory"/>, or null when it has none.</summary>
    public static ShapesTrainingOptions? SavedOptions(string checkpointDirectory)
    {
        string statePath = Path.Combine(checkpointDirectory, StateFile);
        return File.Exists(Path.Combine(checkpointDirectory, CheckpointFile)) && File.Exists(statePath) ? ReadState(statePath).Options : null;
    }

    /// <summary>Optimizer steps done (over all runs).</summary>
    public long Step { get; private set; }

    /// <summary>Training wall time over all runs.</summary>
    public double Seconds { get; private set; }

    /// <summary>The logged loss curve.</summary>
    public IReadOnlyList<LossPoint> LossCurve => curve;

    /// <summary>Resumes that changed <see cref="ShapesTrainingOptions.TotalSteps"/>, in order (kept in the checkpoint).</summary>
    public IReadOnlyList<ScheduleChange> ScheduleChanges => scheduleChanges;

    /// <summary>Parameters of the transformer.</summary>
    public long TransformerParameters => transformer.parameters().Sum(p => p.NumberOfElements);

    /// <summary>Parameters of the text encoder.</summary>
    public long TextEncoderParameters => textEncoder.parameters().Sum(p => p.NumberOfElements);

    /// <summary>One optimizer step; returns its loss.</summary>
    public double TrainStep()
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int batch = Options.BatchSize;
        var scenes = new ShapeScene[batch];
        var drop = new bool[batch];
        var dropRandom = SplitMix64.For(Options.Seed, 3, (ulong)Step);
        for (int i = 0; i < batch; i++)
        {
            long index = (Step * batch) + i;
            scenes[i] = ShapeScene.Sample(Options.Seed, ShapeScene.TrainStream, Options.DistinctScenes is long n ? index % n : index);
            drop[i] = dropRandom.NextDouble() < Options.CaptionDropout;
        }

        double loss;
        using var noCollections = CollectionPause.Begin(); // TorchSharp's implicit scalars must not be finalized mid-call
        using (var scope = NewDisposeScope())
        {
            transformer.train();
            textEncoder.train();
            int imageSize = Options.Transformer.SampleSize;   // pixel space: sample_size is the image edge
            var (x0, ids) = ShapesBatch.Build(scenes, drop, tokenizer, imageSize);
            using var generator = new Generator((ulong)((long)Options.Seed * 1_000_003 + Step));
            Tensor noise = randn(x0.shape, generator: generator);
            Tensor t = Options.ShiftTimesteps(randn([batch], generator: generator).sigmoid());   // shifted logit-normal(0, 1)
            Tensor target = noise.sub(x0);                                              // ε − x0
            using Scalar one = 1f.ToScalar(), timestepScale = 1000f.ToScalar();
            Tensor xt = x0.addcmul(target, t.view(batch, 1, 1, 1), one);                // x0 + t·(ε − x0) = (1 − t)·x0 + t·ε
            var (hidden, pooled) = textEncoder.Forward(ids);
            Tensor prediction = transformer.Forward(xt, hidden, pooled, t.mul(timestepScale));
            Tensor mse = nn.functional.mse_loss(prediction, target);
            foreach (var (_, p) in parameters)
            {
                p.grad?.zero_();
            }

            mse.backward();
            nn.utils.clip_grad_norm_(parameters.Select(p => p.Parameter), Options.GradientClip);
            optimizer.Step(Options.LearningRateAt(Step));
            loss = mse.item<float>();
        }

        double decay = Math.Min(Options.EmaDecay, (1.0 + Step) / (10.0 + Step));
        emaOfTransformer.Update(decay);
        emaOfTextEncoder.Update(decay);
        if (!double.IsFinite(loss))
        {
            throw new NonFiniteException($"training step {Step}: loss is {loss}");
        }

        Step++;
        Seconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        pendingLoss += loss;
        pendingCount++;
        if (Step % 50 == 0)
        {
            curve.Add(new LossPoint(Step, pendingLoss / pendingCount, Seconds));
            (pendingLoss, pendingCount) = (0, 0);
        }

        return loss;
    }

    /// <summary>Writes weights, EMA weights, optimizer moments and the curve (atomically) to the checkpoint folder.</summary>
    public void SaveCheckpoint()
    {
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, p) in parameters)
        {
            tensors["model." + name] = p;
            tensors["adam_m." + name] = optimizer.Moments[name].M;
            tensors["adam_v." + name] = optimizer.Moments[name].V;
        }

        foreach (var (name, p) in emaTransformer.named_parameters())
        {
            tensors["ema.transformer." + name] = p;
        }

        foreach (var (name, p) in emaTextEncoder.named_parameters())
        {
            tensors["ema.text_encoder." + name] = p;
        }

        SafetensorsWriter.Write(Path.Combine(directory, CheckpointFile), tensors);
        var state = new TrainingState(Step, optimizer.Steps, Seconds, Options, curve, scheduleChanges);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(state, Indented);
        AtomicFile.Write(Path.Combine(directory, StateFile), s => s.Write(json));
    }

    /// <summary>
    /// Starts a run in the empty <paramref name="checkpointDirectory"/> from an exported model folder, for when the
    /// folder's own checkpoint is gone (a warm restart): its EMA weights become both the trained and the EMA weights,
    /// and the step count, wall time and loss curve continue from its <c>loss_curve.csv</c>, so the data stream goes on
    /// with unseen scenes. The optimizer moments start at zero, so the learning-rate schedule starts again at that step
    /// (<see cref="ShapesTrainingOptions.ScheduleStart"/>: a new warm-up, then the cosine to <c>TotalSteps</c>).
    /// </summary>
    public static ShapesTrainer WarmRestart(string modelFolder, ShapesTrainingOptions options, string checkpointDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (File.Exists(Path.Combine(checkpointDirectory, CheckpointFile)))
        {
            throw new OptionsException("init-from", $"{checkpointDirectory} already holds a run; a warm restart needs a new checkpoint folder");
        }

        IReadOnlyList<LossPoint> previous = LossCurveFiles.ReadCsv(Path.Combine(modelFolder, "loss_curve.csv"));
        long step = previous.Count == 0 ? 0 : previous[^1].Step;
        var trainer = new ShapesTrainer(options with { ScheduleStart = step }, checkpointDirectory);
        try
        {
            using (var source = ShapesPipeline.Load(modelFolder))
            {
                CopyParameters(source.Transformer, [trainer.transformer, trainer.emaTransformer], Path.Combine(modelFolder, "transformer"));
                CopyParameters(source.TextEncoder, [trainer.textEncoder, trainer.emaTextEncoder], Path.Combine(modelFolder, "text_encoder"));
            }

            trainer.Step = step;
            trainer.Seconds = previous.Count == 0 ? 0 : previous[^1].Seconds;
            trainer.curve.AddRange(previous);
            trainer.scheduleChanges.Add(new ScheduleChange(step, step, trainer.Options.TotalSteps, WarmRestart: true));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>The sampling schedule shipped with the model: the shift it was trained with.</summary>
    public FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig => new() { Shift = Options.TimestepShift };

    /// <summary>A pipeline over the EMA weights (the modules stay owned by the trainer).</summary>
    public ShapesPipeline EmaPipeline()
    {
        emaTransformer.eval();
        emaTextEncoder.eval();
        return new ShapesPipeline(emaTransformer, emaTextEncoder, tokenizer, SchedulerConfig);
    }

    /// <summary>Writes the EMA weights as an fp16 model folder, with the loss curve for its model card (<see cref="LossCurveFiles"/>).</summary>
    public void Export(string folder)
    {
        ShapesPipeline.Save(folder, emaTransformer, emaTextEncoder, tokenizer, SchedulerConfig, ScalarType.Float16);
        LossCurveFiles.Write(folder, curve, scheduleChanges);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer.Dispose();
        transformer.Dispose();
        textEncoder.Dispose();
        emaTransformer.Dispose();
        emaTextEncoder.Dispose();
        heapLease.Dispose();
    }

    /// <summary>adaLN-Zero (DiT): modulation linears and the output projection start at zero, so every block starts as the identity.</summary>
    private static void ZeroInitialiseModulation(SD3Transformer2DModel model)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.Contains("norm1.linear", StringComparison.Ordinal) || name.Contains("norm1_context.linear", StringComparison.Ordinal)
                || name.StartsWith("norm_out.linear", StringComparison.Ordinal) || name.StartsWith("proj_out", StringComparison.Ordinal))
            {
                p.zero_();
            }
        }
    }

    /// <summary>Copies <paramref name="source"/>'s parameters into each target, after checking names and shapes all match.</summary>
    private static void CopyParameters(nn.Module source, nn.Module[] targets, string sourceFolder)
    {
        var values = source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var needed = targets[0].named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        List<string> missing = [.. needed.Keys.Where(k => !values.ContainsKey(k))];
        List<string> unexpected = [.. values.Keys.Where(k => !needed.ContainsKey(k))];
        List<string> mismatched = [.. needed.Where(n => values.TryGetValue(n.Key, out var v) && !v.shape.SequenceEqual(n.Value))
            .Select(n => $"{n.Key}: checkpoint [{string.Join(", ", values[n.Key].shape)}] vs model [{string.Join(", ", n.Value)}]")];
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            throw new CheckpointException(sourceFolder, missing, unexpected, mismatched);
        }

        using var noGrad = no_grad();
        foreach (var target in targets)
        {
            foreach (var (name, p) in target.named_parameters())
            {
                p.copy_(values[name]);
            }
        }
    }

    private void Resume()
    {
        string statePath = Path.Combine(directory, StateFile);
        TrainingState state = ReadState(statePath);
        // The schedule's length may change on resume (the learning rate is a function of the step alone), so a run can be
        // shortened or extended; everything else defines the model and the data and must match.
        var changed = ChangedOptions(state.Options with { TotalSteps = Options.TotalSteps }, Options);
        if (changed.Count > 0)
        {
            throw new OptionsException(changed[0].Name,
                $"the checkpoint in {directory} was trained with {changed[0].Saved}, this run asks for {changed[0].Given}"
                + (changed.Count > 1 ? $" (also different: {string.Join(", ", changed.Skip(1).Select(c => $"{c.Name} {c.Saved} → {c.Given}"))})" : string.Empty)
                + "; resume with the checkpoint's values (only --total-steps may change) or train in another checkpoint folder");
        }

        scheduleChanges.AddRange(state.ScheduleChanges ?? []);
        if (state.Options.TotalSteps != Options.TotalSteps)
        {
            scheduleChanges.Add(new ScheduleChange(state.Step, state.Options.TotalSteps, Options.TotalSteps));
        }

        using var checkpoint = SafetensorsFile.Open(Path.Combine(directory, CheckpointFile));
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            checkpoint.CopyInto("model." + name, p);
            checkpoint.CopyInto("adam_m." + name, optimizer.Moments[name].M);
            checkpoint.CopyInto("adam_v." + name, optimizer.Moments[name].V);
        }

        foreach (var (name, p) in emaTransformer.named_parameters())
        {
            checkpoint.CopyInto("ema.transformer." + name, p);
        }

        foreach (var (name, p) in emaTextEncoder.named_parameters())
        {
            checkpoint.CopyInto("ema.text_encoder." + name, p);
        }

        Step = state.Step;
        optimizer.Steps = state.OptimizerSteps;
        Seconds = state.Seconds;
        curve.AddRange(state.Curve);
    }

    /// <summary>
    /// The options that differ between <paramref name="saved"/> and <paramref name="given"/>, named as their CLI flags
    /// (<c>--batch-size</c> …) where one exists, else as the option's property, with both values.
    /// </summary>
    private static List<(string Name, string Saved, string Given)> ChangedOptions(ShapesTrainingOptions saved, ShapesTrainingOptions given)
    {
        var changed = new List<(string, string, string)>();
        using JsonDocument a = JsonSerializer.SerializeToDocument(saved), b = JsonSerializer.SerializeToDocument(given);
        foreach (JsonProperty property in a.RootElement.EnumerateObject())
        {
            string mine = property.Value.GetRawText();
            string theirs = b.RootElement.TryGetProperty(property.Name, out JsonElement value) ? value.GetRawText() : "(absent)";
            if (mine != theirs)
            {
                changed.Add((FlagName(property.Name), mine, theirs));
            }
        }

        return changed;
    }

    /// <summary><c>BatchSize</c> → <c>batch-size</c>: the train-default flag of an option (properties without a flag read the same way).</summary>
    private static string FlagName(string property) =>
        string.Concat(property.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static TrainingState ReadState(string statePath)
    {
        try
        {
            string json = File.ReadAllText(statePath);
            TrainingState state = JsonSerializer.Deserialize<TrainingState>(json) ?? throw new ConfigException(statePath, null, "empty training state");
            // Checkpoints from before the timestep shift also counted sample_size in patches (16, not 64) and so trained
            // with another position table; today's code would silently continue them with different inputs.
            using var document = JsonDocument.Parse(json);
            bool current = document.RootElement.TryGetProperty(nameof(TrainingState.Options), out var saved)
                && saved.ValueKind == JsonValueKind.Object && saved.TryGetProperty(nameof(ShapesTrainingOptions.TimestepShift), out _);
            return current ? state : throw new ConfigException(statePath, "Options",
                "this checkpoint was written by an older ras (no timestep shift, sample_size counted in patches); "
                + "continue or export it with that version (commit f6a8451), or train in another checkpoint folder");
        }
        catch (JsonException e)
        {
            throw new ConfigException(statePath, null, $"not a training state: {e.Message}");
        }
    }

    private sealed record TrainingState(
        long Step, long OptimizerSteps, double Seconds, ShapesTrainingOptions Options, IReadOnlyList<LossPoint> Curve, IReadOnlyList<ScheduleChange>? ScheduleChanges);
}
