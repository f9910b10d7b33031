using Ras.Tokenizers.Clip;

namespace Ras.Tokenizers.Gemma;

/// <summary>
/// What <c>LuminaText2ImgPipeline._text_preprocessing</c> (diffusers 0.32) does to a prompt before tokenizing it when
/// caption cleaning is off (its <c>clean_caption=True</c> default only takes effect with <c>bs4</c> and <c>ftfy</c>
/// installed; the IF-style caption cleaner is not implemented): Python's <c>text.lower().strip()</c>. Negative prompts
/// are tokenized as given.
/// </summary>
public static class LuminaTextPreprocessing
{
    /// <summary>Python's <c>str.lower()</c> (full case mapping: <c>İ</c> → <c>i</c> + U+0307) then <c>str.strip()</c> (Python's whitespace).</summary>
    public static string Apply(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        string lower = PythonLowercase.Lower(prompt);
        int start = 0, end = lower.Length;
        while (start < end && ClipTextCleaner.IsPythonSpace(lower[start]))
        {
            start++;
        }

        while (end > start && ClipTextCleaner.IsPythonSpace(lower[end - 1]))
        {
            end--;
        }

        return lower[start..end];
    }
}
