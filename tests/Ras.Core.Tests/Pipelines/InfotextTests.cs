using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Pipelines;

/// <summary>The one infotext builder the CLI and the server share: A1111's layout, which its clients parse by position.</summary>
public sealed class InfotextTests
{
    private static readonly ModelIdentity Model = new("ras-shapes", "0123456789");

    private static ImageGeneration Generation(RasOptions ras, FamilyExtras? extras = null, double guidance = 4) =>
        new([new byte[12], new byte[12]], 64, 48, new ResolvedSettings(20, 20, guidance, 3, ras, extras), [], [], 4, [], new Dictionary<string, double>());

    [Fact]
    public void Settings_line_starts_with_the_seven_positional_keys_and_no_value_holds_a_comma()
    {
        var request = new ImageRequest { Prompts = ["a red circle"], Seed = 41, SeedPerImage = true, ImagesPerPrompt = 2 };
        string text = Infotext.For(request, Generation(new RasOptions()), 1, GuidanceKind.ClassifierFree, Model with { Name = "my, model" });
        string[] lines = text.Split('\n');
        Assert.Equal(2, lines.Length);   // no negative prompt line when it is empty
        Assert.Equal("a red circle", lines[0]);
        Assert.StartsWith("Steps: 20, Sampler: Euler, CFG scale: 4, Seed: 42, Size: 64x48, Model hash: 0123456789, Model: my  model, Shift: 3", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("RAS", text, StringComparison.Ordinal);

        // node-sd-webui's pngInfo: split on commas, values 0–6 by position.
        string[] values = lines[1].Split(',').Select(v => v.Split(": ")[1]).ToArray();
        Assert.Equal(["20", "Euler", "4", "42", "64x48", "0123456789", "my  model"], values[..7]);
    }

    [Fact]
    public void Ras_settings_follow_in_args_order_with_numbers_as_sent()
    {
        var ras = new RasOptions { SampleRatio = 0.5, HighRatio = 0.3, StarvationScale = 1, Selection = RasSelectionMode.Revisit, Dilate = 1 };
        var request = new ImageRequest { Prompts = ["p"], NegativePrompt = "blurry", Seed = 7 };
        string text = Infotext.For(request, Generation(ras), 0, GuidanceKind.ClassifierFree, Model);
        Assert.Equal(
            "p\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, CFG scale: 4, Seed: 7, Size: 64x48, Model hash: 0123456789, Model: ras-shapes, " +
            "RAS sample ratio: 0.5, RAS metric: std, RAS high ratio: 0.3, RAS starvation scale: 1, RAS scheduler start step: 4, RAS scheduler end step: 20, " +
            "RAS error reset steps: \"8,14\", RAS skip num step: 0, RAS skip num step length: 0, RAS selection: revisit, RAS dilate: 1, Shift: 3",
            text);
    }

    [Fact]
    public void Embedded_guidance_is_forges_distilled_cfg_scale_and_cfg_is_the_true_cfg_scale()
    {
        var request = new ImageRequest { Prompts = ["p"], NegativePrompt = "n", Seed = 1, InitImage = new RgbImage(new byte[12], 2, 2), Strength = 0.75 };
        string text = Infotext.For(request, Generation(new RasOptions(), new FluxExtras { TrueCfgScale = 4, MaxSequenceLength = 512 }, 3.5), 0, GuidanceKind.Embedded, Model);
        Assert.Contains("CFG scale: 4, Seed: 1, Size: 64x48, Model hash: 0123456789, Model: ras-shapes, Distilled CFG Scale: 3.5, Denoising strength: 0.75, Shift: 3, Max sequence length: 512", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_reads_back_prompt_negative_and_settings_with_quotes()
    {
        var ras = new RasOptions { SampleRatio = 0.25 };
        string text = Infotext.For(new ImageRequest { Prompts = ["two\nlines"], NegativePrompt = "bad", Seed = 3 }, Generation(ras), 0, GuidanceKind.ClassifierFree, Model);
        var (prompt, negative, settings) = Infotext.Parse(text);
        Assert.Equal(("two\nlines", "bad"), (prompt, negative));
        var map = settings.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("8,14", map["RAS error reset steps"]);
        Assert.Equal("0.25", map["RAS sample ratio"]);
        Assert.Equal("64x48", map["Size"]);
        Assert.Equal(("just a prompt", string.Empty), (Infotext.Parse("just a prompt").Prompt, Infotext.Parse("just a prompt").NegativePrompt));
    }

    [Fact]
    public void Model_hash_is_ten_hex_digits_stable_and_content_dependent()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.File("m"));
        File.WriteAllText(temp.File("m/a.json"), "{}");
        File.WriteAllBytes(temp.File("m/big.bin"), Enumerable.Range(0, 5 << 20).Select(i => (byte)i).ToArray());
        ModelIdentity first = ModelIdentity.Of(temp.File("m"));
        Assert.Matches("^[0-9a-f]{10}$", first.Hash);
        Assert.Equal("m", first.Name);
        Assert.Equal(first, ModelIdentity.Of(temp.File("m") + "/"));
        File.WriteAllText(temp.File("m/a.json"), "{ }");
        Assert.NotEqual(first.Hash, ModelIdentity.Of(temp.File("m")).Hash);
        Assert.Equal("big", ModelIdentity.Of(temp.File("m/big.bin")).Name);
    }

    [Fact]
    public void Per_image_seeds_draw_each_image_alone()
    {
        using var batch = InitialNoise.DrawPerImage([3, 2, 4, 4], 10);
        using var third = InitialNoise.Draw([1, 2, 4, 4], 12);
        using var first = InitialNoise.Draw([1, 2, 4, 4], 10);
        using var slice2 = batch.narrow(0, 2, 1);
        using var slice0 = batch.narrow(0, 0, 1);
        Assert.True(slice2.eq(third).all().item<bool>());
        Assert.True(slice0.eq(first).all().item<bool>());
    }
}
