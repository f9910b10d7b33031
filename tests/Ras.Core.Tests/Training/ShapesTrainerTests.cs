using Ras.Models.Shapes;
using Ras.Models.SD3;
using Ras.Pipelines;
using Ras.Tests.TestSupport;
using Ras.Training;
using static TorchSharp.torch;

namespace Ras.Tests.Training;

// Module construction draws its initial weights from libtorch's process-wide generator (seeded by the trainer), so
// a test building models on another thread at the same time would change them: run alone.
[Collection(SerialCollection.Name)]
public sealed class ShapesTrainerTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>A small version of the default architecture (same code paths, seconds to train).</summary>
    private static ShapesTrainingOptions Tiny(long? distinct = null) => new()
    {
        Seed = 5,
        BatchSize = 4,
        LearningRate = 3e-3,
        WarmupSteps = 5,
        TotalSteps = 200,
        DistinctScenes = distinct,
        Transformer = ShapesModelDefinition.Transformer with { NumLayers = 2, NumAttentionHeads = 2, AttentionHeadDim = 16, CaptionProjectionDim = 32, JointAttentionDim = 16, PooledProjectionDim = 16 },
        TextEncoder = ShapesModelDefinition.TextEncoder with { HiddenSize = 16, NumAttentionHeads = 2, IntermediateSize = 32, ProjectionDim = 16, NumHiddenLayers = 1 },
    };

    [Fact]
    public void Loss_decreases_when_overfitting_a_fixed_batch()
    {
        using var trainer = new ShapesTrainer(Tiny(distinct: 4), temp.File("run"));
        var losses = Enumerable.Range(0, 60).Select(_ => trainer.TrainStep()).ToList();
        double first = losses.Take(10).Average();
        double last = losses.Skip(50).Average();
        Assert.True(last < 0.7 * first, $"loss went from {first:0.000} to {last:0.000}");
        Assert.Equal(60, trainer.Step);
        Assert.Single(trainer.LossCurve);
    }

    [Fact]
    public void A_step_of_the_shipped_recipe_allocates_well_inside_its_collection_pause()
    {
        // The pause only protects a step whose managed allocations stay under its budget (see CollectionPause).
        using var trainer = new ShapesTrainer(new ShapesTrainingOptions(), temp.File("run"));
        trainer.TrainStep(); // first-call costs (JIT, caches) are not a step's
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.TrainStep();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.InRange(allocated, 1, Ras.Native.CollectionPause.DefaultBudgetBytes / 4);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_continues_exactly()
    {
        string straight = temp.File("straight");
        string resumed = temp.File("resumed");
        using (var a = new ShapesTrainer(Tiny(), straight))
        {
            for (int i = 0; i < 4; i++)
            {
                a.TrainStep();
            }

            a.Export(temp.File("export-a"));
        }

        using (var b = new ShapesTrainer(Tiny(), resumed))
        {
            b.TrainStep();
            b.TrainStep();
            b.SaveCheckpoint();
        }

        using (var c = new ShapesTrainer(Tiny(), resumed))
        {
            Assert.Equal(2, c.Step);
            c.TrainStep();
            c.TrainStep();
            c.Export(temp.File("export-c"));
        }

        using var pa = ShapesPipeline.Load(temp.File("export-a"));
        using var pc = ShapesPipeline.Load(temp.File("export-c"));
        var wa = pa.Transformer.state_dict();
        var wc = pc.Transformer.state_dict();
        Assert.All(wa.Keys, k => Assert.True(TensorAssert.Same(wa[k], wc[k]), k));
    }

    [Fact]
    public void Resuming_with_other_options_is_refused()
    {
        string dir = temp.File("run");
        using (var a = new ShapesTrainer(Tiny(), dir))
        {
            a.TrainStep();
            a.SaveCheckpoint();
        }

        // Issue 16: the option is named with both values (it used to print the whole options record).
        var error = Assert.Throws<Ras.Errors.OptionsException>(() => new ShapesTrainer(Tiny() with { BatchSize = 8 }, dir));
        Assert.Equal("batch-size", error.Option);
        Assert.Contains("was trained with 4, this run asks for 8", error.Message, StringComparison.Ordinal);
        Assert.Contains("only --total-steps may change", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resuming_with_another_schedule_length_is_recorded()
    {
        string dir = temp.File("run");
        Assert.Null(ShapesTrainer.SavedOptions(dir));
        using (var a = new ShapesTrainer(Tiny(), dir))
        {
            a.TrainStep();
            a.SaveCheckpoint();
        }

        Assert.Equal(200, ShapesTrainer.SavedOptions(dir)!.TotalSteps);
        using (var b = new ShapesTrainer(Tiny() with { TotalSteps = 50 }, dir))
        {
            Assert.Equal([new ScheduleChange(1, 200, 50)], b.ScheduleChanges);
            b.TrainStep();
            b.SaveCheckpoint();
        }

        using var c = new ShapesTrainer(Tiny() with { TotalSteps = 50 }, dir);
        Assert.Equal([new ScheduleChange(1, 200, 50)], c.ScheduleChanges);
        Assert.Equal(50, ShapesTrainer.SavedOptions(dir)!.TotalSteps);
    }

    [Fact]
    public void Timestep_shift_maps_t_as_sd3_does_and_is_the_exported_sampling_shift()
    {
        // s·t / (1 + (s − 1)·t): s = 3 sends the logit-normal's median 0.5 to 0.75; s = 1 is the identity.
        using Tensor t = tensor(new[] { 0.1f, 0.5f, 0.9f });
        using Tensor shifted = new ShapesTrainingOptions { TimestepShift = 3 }.ShiftTimesteps(t);
        Assert.Equal([0.25f, 0.75f, 27f / 28f], shifted.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        using Tensor same = new ShapesTrainingOptions { TimestepShift = 1 }.ShiftTimesteps(t);
        Assert.Equal(t.data<float>().ToArray(), same.data<float>().ToArray());
        Assert.Throws<Ras.Errors.OptionsException>(() => new ShapesTrainingOptions { TimestepShift = 0 }.Validate());

        string folder = temp.File("model");
        using (var trainer = new ShapesTrainer(Tiny() with { TimestepShift = 2.5 }, temp.File("run")))
        {
            trainer.TrainStep();
            trainer.Export(folder);
        }

        using var pipeline = ShapesPipeline.Load(folder);
        Assert.Equal(2.5, pipeline.Scheduler.Config.Shift);
    }

    [Fact]
    public void A_checkpoint_from_before_the_timestep_shift_is_refused_with_a_clear_message()
    {
        string dir = temp.File("run");
        using (var a = new ShapesTrainer(Tiny(), dir))
        {
            a.TrainStep();
            a.SaveCheckpoint();
        }

        // What a state file written before the option existed looks like: no TimestepShift in its options.
        string state = Path.Combine(dir, "state.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(state))!;
        Assert.True(json["Options"]!.AsObject().Remove("TimestepShift"));
        File.WriteAllText(state, json.ToJsonString());

        // Such a run also counted sample_size in patches, so continuing it would feed it another position table.
        var error = Assert.Throws<Ras.Errors.ConfigException>(() => ShapesTrainer.SavedOptions(dir));
        Assert.Contains("older ras", error.Message, StringComparison.Ordinal);
        Assert.Contains("state.json", error.Message, StringComparison.Ordinal);
        Assert.Throws<Ras.Errors.ConfigException>(() => new ShapesTrainer(Tiny(), dir));
    }

    [Fact]
    public void Exported_model_generates_through_the_same_loader_as_real_checkpoints()
    {
        string folder = temp.File("model");
        using (var trainer = new ShapesTrainer(Tiny(), temp.File("run")))
        {
            for (int i = 0; i < 100; i++)
            {
                trainer.TrainStep();
            }

            trainer.Export(folder);
        }

        // The model card's curve: the two logged points (every 50 steps) as CSV rows and as the chart's line.
        string[] csv = File.ReadAllLines(Path.Combine(folder, "loss_curve.csv"));
        Assert.Equal("step,loss,hours", csv[0]);
        Assert.Equal(["step", "50", "100"], csv.Select(l => l.Split(',')[0]));
        string svg = File.ReadAllText(Path.Combine(folder, "loss_curve.svg"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Match(svg, "<polyline[^>]*points=\"([^\"]*)\"").Groups[1].Value.Split(' ').Length);

        Assert.True(ShapesPipeline.IsShapesFolder(folder));
        using var pipeline = ShapesPipeline.Load(folder);
        var generation = pipeline.Generate(new ShapesRequest { Prompts = ["a small red circle at the center on a blue background", "a large bogus star"], Seed = 1, Steps = 3 });
        Assert.Equal(2, generation.Images.Count);
        Assert.Equal(64 * 64 * 3, generation.Images[0].Length);
        Assert.Equal(["bogus"], generation.UnknownWords);
        using var stored = Ras.IO.Safetensors.SafetensorsFile.Open(Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"));
        Assert.All(stored.Entries.Values, e => Assert.Equal(ScalarType.Float16, e.DType));
    }

    [Fact]
    public void A_warm_restart_continues_an_exported_models_weights_step_and_curve()
    {
        string folder = temp.File("model");
        using (var trainer = new ShapesTrainer(Tiny(), temp.File("run")))
        {
            for (int i = 0; i < 50; i++)
            {
                trainer.TrainStep();
            }

            trainer.Export(folder);
        }

        using var restarted = ShapesTrainer.WarmRestart(folder, Tiny(), temp.File("restart"));
        Assert.Equal(50, restarted.Step);
        Assert.Equal(50, restarted.Options.ScheduleStart);
        Assert.Equal([50L], restarted.LossCurve.Select(p => p.Step));
        Assert.Equal([new ScheduleChange(50, 50, 200, WarmRestart: true)], restarted.ScheduleChanges);

        // Both the trained and the EMA weights start as the exported (fp16) EMA weights. (Parameters only: the
        // position table is a buffer the architecture computes, which the file holds rounded to fp16.)
        using var exported = ShapesPipeline.Load(folder);
        var expected = exported.Transformer.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        using (var ema = restarted.EmaPipeline())
        {
            var actual = ema.Transformer.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
            Assert.Equal(expected.Count, actual.Count);
            Assert.All(expected.Keys, k => Assert.True(TensorAssert.Same(expected[k], actual[k]), k));
        }

        // The step count goes on, so the data stream does too; the curve logs its next point at 100.
        for (int i = 0; i < 50; i++)
        {
            restarted.TrainStep();
        }

        Assert.Equal([50L, 100L], restarted.LossCurve.Select(p => p.Step));
        string svg = temp.File("curve");
        restarted.Export(svg);
        Assert.Contains("warm restart → 200 steps", File.ReadAllText(Path.Combine(svg, "loss_curve.svg")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_warm_restart_is_refused_into_a_used_folder_or_from_another_architecture()
    {
        string folder = temp.File("model");
        string used = temp.File("used");
        using (var trainer = new ShapesTrainer(Tiny(), used))
        {
            for (int i = 0; i < 50; i++)
            {
                trainer.TrainStep();
            }

            trainer.Export(folder);
            trainer.SaveCheckpoint();
        }

        var error = Assert.Throws<Ras.Errors.OptionsException>(() => ShapesTrainer.WarmRestart(folder, Tiny(), used));
        Assert.Contains("new checkpoint folder", error.Message, StringComparison.Ordinal);

        var deeper = Tiny() with { Transformer = Tiny().Transformer with { NumLayers = 3 } };
        string other = temp.File("other");
        var mismatch = Assert.Throws<Ras.Errors.CheckpointException>(() => ShapesTrainer.WarmRestart(folder, deeper, other));
        Assert.Contains(mismatch.Missing, k => k.StartsWith("transformer_blocks.2.", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(other, "state.json")));
    }

    [Fact]
    public void The_learning_rate_schedule_warms_up_again_from_its_start_step()
    {
        var options = new ShapesTrainingOptions { LearningRate = 1e-3, WarmupSteps = 100, ScheduleStart = 1000, TotalSteps = 2100 };
        Assert.Equal(1e-5, options.LearningRateAt(1000), 12);
        Assert.Equal(1e-3, options.LearningRateAt(1100), 12);
        Assert.Equal(1e-3 * (0.1 + (0.9 * 0.5)), options.LearningRateAt(1600), 12); // halfway through the cosine
        Assert.Equal(1e-4, options.LearningRateAt(2100), 12);
        Assert.Equal(1e-4, options.LearningRateAt(5000), 12);
        Assert.Throws<Ras.Errors.OptionsException>(() => (options with { TotalSteps = 1000 }).Validate());
    }

    [Fact]
    public void The_loss_curve_csv_reads_back_and_a_malformed_row_names_its_line()
    {
        LossPoint[] curve = [new(50, 0.5, 36), new(100, 0.25, 72)];
        string path = temp.File("loss_curve.csv");
        File.WriteAllText(path, LossCurveFiles.Csv(curve));
        Assert.Equal(curve, LossCurveFiles.ReadCsv(path));
        Assert.Empty(LossCurveFiles.ReadCsv(temp.File("absent.csv")));

        File.WriteAllText(path, "step,loss,hours\n50,0.5,0.01\n40,0.4,0.02\n");
        var error = Assert.Throws<Ras.Errors.ConfigException>(() => LossCurveFiles.ReadCsv(path));
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }
}
