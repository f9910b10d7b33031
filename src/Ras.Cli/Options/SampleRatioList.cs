using System.Globalization;
using Ras.Errors;

namespace Ras.Cli.Options;

/// <summary>Parses a comma list of RAS sample ratios (<c>1,0.5,0.25</c>), as <c>bench</c> and <c>eval</c> take them (and <c>probe</c> its noise levels).</summary>
internal static class SampleRatioList
{
    /// <summary>The distinct ratios in order; each must be in (0, 1]. An empty text gives an empty list.</summary>
    public static List<double> Parse(string text, string option, string what = "sample ratio")
    {
        var values = new List<double>();
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double ratio) || !(ratio > 0 && ratio <= 1))
            {
                throw new OptionsException(option, $"'{item}' is not a {what} in (0, 1]");
            }

            if (!values.Contains(ratio))
            {
                values.Add(ratio);
            }
        }

        return values;
    }
}
