using Ras.Errors;
using Ras.IO.Configs;
using Ras.IO.Safetensors;
using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Cli.Commands.Denoise;

/// <summary>
/// What <c>ras denoise</c> needs from a transformer family: its shape facts, its defaults, and a denoiser bound to the
/// conditioning tensors of an inputs file. The family is read from <c>transformer/config.json</c>'s <c>_class_name</c>.
/// </summary>
internal abstract class DenoiseTransformer : IDisposable
{
    /// <summary>One line describing the model (architecture and size).</summary>
    public abstract string Summary { get; }

    /// <summary>Latent pixels per token edge.</summary>
    public abstract int PatchSize { get; }

    /// <summary>Latent channels.</summary>
    public abstract int InChannels { get; }

    /// <summary>Trained latent edge (the default size when latents are drawn).</summary>
    public abstract int SampleSize { get; }

    /// <summary>The family's default step count.</summary>
    public abstract int DefaultSteps { get; }

    /// <summary>The family's default CFG scale.</summary>
    public abstract double DefaultGuidance { get; }

    /// <summary>The conditioning tensors the inputs file must hold (for <c>--help</c> and messages).</summary>
    public abstract string InputsDescription { get; }

    /// <summary>Loads the transformer of <paramref name="transformerDir"/>, choosing the family by its config's <c>_class_name</c>.</summary>
    /// <param name="transformerDir">The <c>transformer/</c> folder.</param>
    /// <param name="device">Where to compute.</param>
    /// <param name="lumina">Lumina pipeline constants (ignored by other families).</param>
    /// <param name="luminaFlag">A Lumina-only flag the user gave, or null; an error for other families.</param>
    /// <exception cref="OptionsException"><paramref name="luminaFlag"/> given for another family.</exception>
    public static DenoiseTransformer Load(string transformerDir, Device device, LuminaSamplingOptions lumina, string? luminaFlag)
    {
        string? className = JsonConfig.Load(Path.Combine(transformerDir, "config.json")).ClassName;
        if (className == LuminaNextDiT2DModelConfig.ClassName)
        {
            return new LuminaDenoiseTransformer(LuminaNextDiT2DModel.FromPretrained(transformerDir, device), lumina);
        }

        if (luminaFlag is not null)
        {
            throw new OptionsException(luminaFlag, $"applies to {LuminaNextDiT2DModelConfig.ClassName} transformers only; this one is '{className}'");
        }

        return new Sd3DenoiseTransformer(Models.SD3.SD3Transformer2DModel.FromPretrained(transformerDir, device));
    }

    /// <summary>The batch of the prompt embeddings in <paramref name="inputs"/> (the latent batch when latents are drawn).</summary>
    public static int PromptBatch(SafetensorsFile inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs.Contains("prompt_embeds")
            ? (int)inputs.Get("prompt_embeds").Shape[0]
            : throw new SafetensorsException(inputs.FilePath, "prompt_embeds", "required but missing");
    }

    /// <summary>
    /// Reads the conditioning of <paramref name="inputs"/> for <paramref name="batch"/> images and binds the model to it;
    /// the returned owner frees the conditioning.
    /// </summary>
    /// <exception cref="SafetensorsException">A required tensor is missing.</exception>
    /// <exception cref="OptionsException">Tensors whose shapes do not fit together.</exception>
    public abstract (IDenoiser Denoiser, IDisposable Conditioning) Bind(SafetensorsFile inputs, int batch, bool guidance, Device device);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>The tensor <paramref name="name"/> in <paramref name="dtype"/>, on <paramref name="device"/>.</summary>
    protected static Tensor Require(SafetensorsFile file, string name, ScalarType dtype, Device device) =>
        file.Contains(name) ? file.Read(name, dtype).to(device) : throw new SafetensorsException(file.FilePath, name, "required but missing");
}
