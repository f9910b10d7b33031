using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>A default-architecture model trained for two steps through <c>ras train-default</c> (the CI smoke test of training), shared by the tests of a class.</summary>
public sealed class ShapesModelFixture : IDisposable
{
    private readonly TempDirectory temp = new();

    public ShapesModelFixture()
    {
        Model = temp.File("model");
        Training = CliRunner.Run("train-default", "--checkpoint-dir", temp.File("checkpoints"), "--steps", "2", "--batch-size", "2", "--export", Model);
    }

    public string Model { get; }

    public CliRunner.Result Training { get; }

    public string CheckpointDir => temp.File("checkpoints");

    public void Dispose() => temp.Dispose();
}
