using Ras.Errors;
using Ras.Pipelines.SD3;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines;

public sealed class SD3ConditioningTests
{
    [Fact]
    public void Batch_one_prompts_broadcast_and_negatives_come_first()
    {
        using var scope = NewDisposeScope();
        Tensor text = ones(1, 3, 4);
        Tensor pooled = ones(1, 2);
        using var conditioning = SD3Conditioning.Create(text, pooled, zeros(1, 3, 4), zeros(1, 2), batch: 3, guidance: true);
        Assert.Equal([6, 3, 4], conditioning.EncoderHiddenStates.shape);
        Assert.Equal(0f, conditioning.EncoderHiddenStates[2].sum().item<float>());
        Assert.Equal(12f, conditioning.EncoderHiddenStates[3].sum().item<float>());
        Assert.Equal(2, conditioning.GuidanceCopies);
    }

    [Fact]
    public void Guidance_without_negatives_and_mismatched_batches_are_rejected()
    {
        using var scope = NewDisposeScope();
        var missing = Assert.Throws<OptionsException>(() => SD3Conditioning.Create(ones(1, 3, 4), ones(1, 2), null, null, 1, guidance: true));
        Assert.Contains("negative_prompt_embeds", missing.Message, StringComparison.Ordinal);
        var batch = Assert.Throws<OptionsException>(() => SD3Conditioning.Create(ones(2, 3, 4), ones(2, 2), null, null, 3, guidance: false));
        Assert.Equal("prompt_embeds", batch.Option);
        var length = Assert.Throws<OptionsException>(() => SD3Conditioning.Create(ones(1, 3, 4), ones(1, 2), ones(1, 5, 4), ones(1, 2), 1, guidance: true));
        Assert.Equal("negative_prompt_embeds", length.Option);
    }
}
