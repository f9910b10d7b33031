using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ras.Cli.Options;
using Ras.Training;

namespace Ras.Cli.Commands;

/// <summary><c>ras train-default</c>: trains (or resumes training) the shipped default model on the CPU.</summary>
internal sealed class TrainDefaultCommand : ICliCommand
{
    private readonly Option<string> checkpoints = new("--checkpoint-dir")
    {
        Description = "Where checkpoints live; training resumes from the one there.",
        DefaultValueFactory = _ => Path.Combine(Ras.IO.Files.UserCache.Root, "train", "default"),
    };

    private readonly Option<long?> steps = new("--steps") { Description = "Stop once this many optimizer steps are done in total. Default: --total-steps." };
    private readonly Option<double> minutes = new("--max-minutes") { Description = "Stop (with a checkpoint) after this much wall time in this run.", DefaultValueFactory = _ => 110 };
    private readonly Option<double> every = new("--checkpoint-minutes") { Description = "Minutes between checkpoints.", DefaultValueFactory = _ => 10 };
    private readonly Option<int> batch = new("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 32 };
    private readonly Option<double> learningRate = new("--learning-rate") { Description = "Peak AdamW learning rate.", DefaultValueFactory = _ => 4e-4 };
    private readonly Option<long?> totalSteps = new("--total-steps") { Description = "Length of the cosine learning-rate schedule; may change when resuming (recorded in the checkpoint). Default: the checkpoint's, else 12000." };
    private readonly Option<double?> shift = new("--timestep-shift") { Description = "SD3 timestep shift of the training timesteps and of the exported sampling schedule. Default: the checkpoint's, else 3." };
    private readonly Option<ulong> seed = new("--seed") { Description = "Seed of weights, data and noise.", DefaultValueFactory = _ => 0UL };
    private readonly Option<string?> initFrom = new("--init-from")
    {
        Description = "Start a new checkpoint folder from an exported model folder (e.g. models/ras-shapes) when its run's checkpoint is gone: "
            + "its weights, step count and loss curve continue; the optimizer starts fresh with a new warm-up, and the cosine runs to --total-steps.",
    };

    private readonly Option<string?> export = new("--export") { Description = "After training, write the EMA weights (fp16) as a model folder here." };
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("train-default", "Train the default text-to-image model (procedural shapes, 64×64) with the rectified-flow objective; resumable.")
        {
            checkpoints, steps, minutes, every, batch, learningRate, totalSteps, shift, seed, initFrom, export,
        };
        compute.Device.Description = "Compute device: cpu (training runs on the CPU only: batches, noise and optimizer state are CPU tensors).";
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        if (compute.Apply(result).type != TorchSharp.DeviceType.CPU)
        {
            throw new Ras.Errors.OptionsException("device", $"'{result.GetValue(compute.Device)}': train-default trains on the CPU only (its batches, noise and optimizer state are CPU tensors); use --device cpu");
        }

        var options = new ShapesTrainingOptions
        {
            Seed = result.GetValue(seed),
            BatchSize = result.GetValue(batch),
            LearningRate = result.GetValue(learningRate),
        };
        string dir = result.GetValue(checkpoints)!;
        string? initFolder = result.GetValue(initFrom);
        ShapesTrainingOptions? saved = ShapesTrainer.SavedOptions(dir);
        options = options with
        {
            TotalSteps = result.GetValue(totalSteps) ?? saved?.TotalSteps ?? options.TotalSteps,
            TimestepShift = result.GetValue(shift) ?? saved?.TimestepShift ?? options.TimestepShift,
            ScheduleStart = saved?.ScheduleStart ?? 0,
        };
        long target = result.GetValue(steps) ?? options.TotalSteps;
        string? exportDir = result.GetValue(export);
        using var trainer = initFolder is null ? new ShapesTrainer(options, dir) : ShapesTrainer.WarmRestart(initFolder, options, dir);
        options = trainer.Options;

        context.Out.WriteLine($"model:      transformer {trainer.TransformerParameters:N0} parameters, text encoder {trainer.TextEncoderParameters:N0}");
        context.Out.WriteLine($"checkpoint: {dir} (at step {trainer.Step})");
        context.Out.WriteLine($"training:   to step {target}, batch {options.BatchSize}, lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)} (cosine over {options.TotalSteps} steps), timestep shift {options.TimestepShift.ToString(CultureInfo.InvariantCulture)}, seed {options.Seed}");
        foreach (var change in trainer.ScheduleChanges)
        {
            context.Out.WriteLine(change.WarmRestart
                ? $"schedule:   at step {change.Step} a warm restart (fresh optimizer, new warm-up) began a schedule to {change.ToTotalSteps} steps"
                : $"schedule:   at step {change.Step} the schedule changed from {change.FromTotalSteps} to {change.ToTotalSteps} steps");
        }

        var run = Stopwatch.StartNew();
        var sinceCheckpoint = Stopwatch.StartNew();
        double budget = result.GetValue(minutes) * 60;
        double checkpointSeconds = result.GetValue(every) * 60;
        long startStep = trainer.Step;
        double recent = double.NaN;
        while (trainer.Step < target && run.Elapsed.TotalSeconds < budget && !context.Cancellation.IsCancellationRequested)
        {
            double loss = trainer.TrainStep();
            recent = double.IsNaN(recent) ? loss : (0.98 * recent) + (0.02 * loss);
            if (sinceCheckpoint.Elapsed.TotalSeconds >= checkpointSeconds)
            {
                trainer.SaveCheckpoint();
                sinceCheckpoint.Restart();
            }

            ReportProgress(context, trainer.Step, target, recent, run.Elapsed, trainer.Step - startStep);
        }

        if (trainer.Step > startStep)
        {
            trainer.SaveCheckpoint();
            context.Error.WriteLine();
        }

        string lossText = double.IsNaN(recent) ? "no step this run" : string.Create(CultureInfo.InvariantCulture, $"loss (EMA of steps) {recent:0.0000}");
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stopped:    step {trainer.Step} after {run.Elapsed.TotalMinutes:0.0} min this run ({trainer.Seconds / 60:0} min in total); {lossText}"));
        if (context.Cancellation.IsCancellationRequested)
        {
            // Stopped between steps with the checkpoint written: rerunning the same command resumes. No export of an unfinished run.
            context.Error.WriteLine($"ras: cancelled at step {trainer.Step}; {(trainer.Step > startStep ? "checkpoint written" : "no step this run")} (rerun the command to resume){(exportDir is null ? string.Empty : "; nothing exported")}");
            return Task.FromResult(ExitCodes.Cancelled);
        }

        if (exportDir is not null)
        {
            trainer.Export(exportDir);
            context.Out.WriteLine($"exported:   {exportDir} (EMA weights, fp16)");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    private static void ReportProgress(CliContext context, long step, long target, double loss, TimeSpan elapsed, long stepsThisRun)
    {
        // Redirected (logs, pipes): a line for the run's first step, then every 50 steps.
        if (Console.IsErrorRedirected && step % 50 != 0 && stepsThisRun != 1)
        {
            return;
        }

        double perStep = elapsed.TotalSeconds / Math.Max(1, stepsThisRun);
        context.Error.Write(string.Create(CultureInfo.InvariantCulture,
            $"\rtrain step {step}/{target} · loss {loss:0.0000} · {perStep:0.00} s/step · ETA {(target - step) * perStep / 60:0} min   "));
        if (Console.IsErrorRedirected)
        {
            context.Error.WriteLine();
        }
    }
}
