using Ras.IO.Images;
using Ras.Pipelines;
using TorchSharp;

namespace Ras.Cli.Tests.Pipelines;

/// <summary>
/// A finished generation leaves no live tensor behind. Native memory that only a finalizer frees grows a long-running server
/// (or a loop of library calls) job after job, because the managed heap stays too small to trigger a collection.
/// </summary>
[Collection(nameof(LiveTensorCount))]
public sealed class ShapesPipelineMemoryTests
{
    public static TheoryData<string> Modes => ["dense", "ras", "ras+preview", "img2img+ras"];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_generation_leaves_no_live_tensor_behind(string mode)
    {
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        var request = new ImageRequest
        {
            Prompts = ["a small red circle at the center on a blue background"], NegativePrompt = "a green square", Seed = 3, Steps = 8,
            Ras = mode.Contains("ras", StringComparison.Ordinal) ? ShapesPipeline.RecommendedRas with { SchedulerStartStep = 2 } : new Ras.RegionAdaptive.RasOptions(),
            Preview = mode.Contains("preview", StringComparison.Ordinal),
            InitImage = mode.StartsWith("img2img", StringComparison.Ordinal) ? new RgbImage(new byte[64 * 64 * 3], 64, 64) : null,
            Strength = mode.StartsWith("img2img", StringComparison.Ordinal) ? 0.7 : 1.0,
        };
        await pipeline.GenerateAsync(request);   // first use: lazily built state (position tables, tokenizer) may stay
        long baseline = torch.Tensor.TotalCount;
        for (int i = 0; i < 3; i++)
        {
            await pipeline.GenerateAsync(request with { Seed = 10 + i });
            Assert.Equal(baseline, torch.Tensor.TotalCount);
        }
    }
}

/// <summary>Tests that count live tensors run one at a time (the count is process-wide).</summary>
[CollectionDefinition(nameof(LiveTensorCount), DisableParallelization = true)]
public sealed class LiveTensorCount;
