using Ras.Tests.TestSupport;

namespace Ras.Tests.Fixtures;

/// <summary>
/// The fixture contract: a family folder absent from the root yields no tests, every case folder (with a case file) is
/// one test named after it, a new folder needs no code change, and filters pick cases by <c>kind</c> or by a property.
/// </summary>
public sealed class FixtureCaseDiscovererTests : IDisposable
{
    private readonly TempDirectory root = new();

    public void Dispose() => root.Dispose();

    private void Case(string family, string name, string file, string json)
    {
        string folder = Path.Combine(root.Path, family, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, file), json);
    }

    [Fact]
    public void Absent_family_folder_gives_no_cases()
    {
        Case("sd3", "dense", "case.json", """{"kind": "forward"}""");
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(root.Path, "lumina", null, null));
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(root.Path, "lumina", "forward", null));
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(root.Path, "tokenizers", null, "t5_convention"));
    }

    [Fact]
    public void Every_folder_with_a_case_file_is_a_case_in_name_order()
    {
        Case("clip", "b_case", "case.json", """{"kind": "clip_text_encoder"}""");
        Case("clip", "a_cases", "cases.json", """{"kind": "clip_tokenizer"}""");
        Directory.CreateDirectory(Path.Combine(root.Path, "clip", "c_no_case_file"));
        Assert.Equal(["a_cases", "b_case"], FixtureCaseDiscoverer.CaseNames(root.Path, "clip", null, null));

        Case("clip", "a0_new", "case.json", """{"kind": "clip_text_encoder"}""");
        Assert.Equal(["a0_new", "b_case"], FixtureCaseDiscoverer.CaseNames(root.Path, "clip", "clip_text_encoder", null));
    }

    [Fact]
    public void Cases_without_a_kind_are_picked_by_a_top_level_property()
    {
        Case("tokenizers", "t5_spm", "cases.json", """{"model": {"file": "x.model"}, "t5_convention": {}}""");
        Case("tokenizers", "t5_other", "cases.json", """{"t5_convention": {}}""");
        Case("tokenizers", "clip_bpe", "cases.json", """{"tokenizers": {}}""");
        Assert.Equal(["t5_other", "t5_spm"], FixtureCaseDiscoverer.CaseNames(root.Path, "tokenizers", null, "t5_convention"));
        Assert.Equal(["clip_bpe"], FixtureCaseDiscoverer.CaseNames(root.Path, "tokenizers", null, "tokenizers"));
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(root.Path, "tokenizers", "clip_tokenizer", null));
    }

    [Fact]
    public void Missing_root_is_one_failing_case_for_unfiltered_suites_only()
    {
        string missing = Path.Combine(root.Path, "absent");
        Assert.Equal([FixtureCaseDiscoverer.MissingRoot], FixtureCaseDiscoverer.CaseNames(missing, "sd3", null, null));
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(missing, "sd3", "denoise", null));
        Assert.Empty(FixtureCaseDiscoverer.CaseNames(missing, "tokenizers", null, "model_info"));
    }
}
