using System.CommandLine;
using Ras.Pipelines;

namespace Ras.Cli.Options;

/// <summary><c>--clip-l</c>, <c>--clip-g</c>, <c>--t5</c>, <c>--vae</c>: separate component files, as Forge and ComfyUI users keep them.</summary>
internal sealed class ComponentFileFlags
{
    private readonly Option<string?> clipL = new("--clip-l") { Description = "CLIP-L text encoder file (e.g. clip_l.safetensors; transformers' key names) for SD3 and FLUX.1, instead of the model's own." };
    private readonly Option<string?> clipG = new("--clip-g") { Description = "OpenCLIP bigG text encoder file (e.g. clip_g.safetensors) for SD3 / SD3.5." };
    private readonly Option<string?> t5 = new("--t5") { Description = "T5-XXL encoder file (e.g. t5xxl_fp16.safetensors, t5xxl_fp8_e4m3fn.safetensors, or GGUF) for SD3 and FLUX.1." };
    private readonly Option<string?> vae = new("--vae") { Description = "VAE file (e.g. FLUX.1's ae.safetensors, SD3's in its original or diffusers layout)." };

    /// <summary>Adds the four options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(clipL);
        command.Options.Add(clipG);
        command.Options.Add(t5);
        command.Options.Add(vae);
    }

    /// <summary>The files given.</summary>
    public ComponentFiles Apply(ParseResult result) => new()
    {
        ClipL = result.GetValue(clipL), ClipG = result.GetValue(clipG), T5 = result.GetValue(t5), Vae = result.GetValue(vae),
    };
}
