using Ras.Errors;
using Ras.Pipelines.Flux;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines.Flux;

public sealed class FluxConditioningTests
{
    [Fact]
    public void Batch_1_prompts_are_broadcast_and_guidance_is_one_float32_per_row()
    {
        using var scope = NewDisposeScope();
        Tensor text = randn(1, 6, 12);
        Tensor pooled = randn(1, 10);
        using var conditioning = FluxConditioning.Create(text, pooled, null, null, batch: 3, trueCfg: false, guidanceScale: 3.5);
        Assert.Equal(1, conditioning.GuidanceCopies);
        Assert.Equal([3, 6, 12], conditioning.PromptEmbeds.shape);
        Assert.Equal([3, 10], conditioning.PooledProjections.shape);
        Assert.True(TensorAssert.Same(text.expand(3, 6, 12), conditioning.PromptEmbeds));
        Assert.Equal(ScalarType.Float32, conditioning.Guidance!.dtype);
        Assert.Equal([3.5f, 3.5f, 3.5f], conditioning.Guidance.data<float>().ToArray());
        Assert.Equal([6, 3], conditioning.TextIds.shape);
        Assert.Equal(0, conditioning.TextIds.abs().sum().item<float>());
    }

    [Fact]
    public void True_cfg_puts_the_negative_half_first()
    {
        using var scope = NewDisposeScope();
        Tensor text = randn(2, 4, 12);
        Tensor pooled = randn(2, 10);
        Tensor negText = randn(1, 4, 12);
        Tensor negPooled = randn(1, 10);
        using var conditioning = FluxConditioning.Create(text, pooled, negText, negPooled, batch: 2, trueCfg: true, guidanceScale: null);
        Assert.Equal(2, conditioning.GuidanceCopies);
        Assert.Null(conditioning.Guidance);
        Assert.True(TensorAssert.Same(cat([negText.expand(2, 4, 12), text], 0), conditioning.PromptEmbeds));
        Assert.True(TensorAssert.Same(cat([negPooled.expand(2, 10), pooled], 0), conditioning.PooledProjections));

        using var guided = FluxConditioning.Create(text, pooled, negText, negPooled, batch: 2, trueCfg: true, guidanceScale: 4.0);
        Assert.Equal([4], guided.Guidance!.shape);
    }

    [Fact]
    public void Inconsistent_inputs_are_option_errors()
    {
        using var scope = NewDisposeScope();
        Tensor text = randn(2, 4, 12);
        Tensor pooled = randn(2, 10);
        Assert.Equal("true-cfg", Assert.Throws<OptionsException>(() => FluxConditioning.Create(text, pooled, null, null, 2, true, 3.5)).Option);
        Assert.Equal("prompt_embeds", Assert.Throws<OptionsException>(() => FluxConditioning.Create(text, pooled, null, null, 3, false, 3.5)).Option);
        Assert.Equal("pooled_prompt_embeds", Assert.Throws<OptionsException>(() => FluxConditioning.Create(text, randn(2, 10, 1), null, null, 2, false, null)).Option);
        Assert.Equal("negative_prompt_embeds", Assert.Throws<OptionsException>(() =>
            FluxConditioning.Create(text, pooled, randn(2, 5, 12), pooled, 2, true, null)).Option);
        Assert.Equal("guidance", Assert.Throws<OptionsException>(() => FluxConditioning.Create(text, pooled, null, null, 2, false, double.NaN)).Option);
    }
}
