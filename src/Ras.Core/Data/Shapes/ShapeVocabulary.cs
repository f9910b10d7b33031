namespace Ras.Data.Shapes;

/// <summary>A named colour with its sRGB value.</summary>
/// <param name="Name">The caption word.</param>
/// <param name="R">Red, 0..255.</param>
/// <param name="G">Green, 0..255.</param>
/// <param name="B">Blue, 0..255.</param>
public sealed record ShapeColour(string Name, byte R, byte G, byte B);

/// <summary>Shape kinds of the dataset.</summary>
public enum ShapeKind
{
    /// <summary>"circle".</summary>
    Circle,

    /// <summary>"square".</summary>
    Square,

    /// <summary>"triangle" (pointing up).</summary>
    Triangle,

    /// <summary>"star" (five points, one up).</summary>
    Star,
}

/// <summary>Shape sizes of the dataset.</summary>
public enum ShapeSize
{
    /// <summary>"small".</summary>
    Small,

    /// <summary>"large".</summary>
    Large,
}

/// <summary>
/// The fixed vocabulary and caption template of the procedural dataset:
/// <c>a {size} {colour} {shape} at the {position}</c> (joined with <c> and </c>) + <c> on a {colour} background</c>
/// or <c> on a {colour} and {colour} background</c>.
/// </summary>
public static class ShapeVocabulary
{
    /// <summary>The eight colours, saturated sRGB.</summary>
    public static IReadOnlyList<ShapeColour> Colours { get; } =
    [
        new("red", 220, 40, 40), new("green", 40, 170, 70), new("blue", 40, 80, 220), new("yellow", 235, 205, 40),
        new("orange", 240, 140, 30), new("purple", 140, 60, 190), new("white", 240, 240, 240), new("black", 20, 20, 20),
    ];

    /// <summary>Positions on the 3×3 grid, row-major: index = row·3 + column.</summary>
    public static IReadOnlyList<string> Positions { get; } =
        ["top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"];

    /// <summary>Caption word of a shape kind.</summary>
    public static string Word(ShapeKind kind) => kind switch
    {
        ShapeKind.Circle => "circle",
        ShapeKind.Square => "square",
        ShapeKind.Triangle => "triangle",
        _ => "star",
    };

    /// <summary>Caption word of a size.</summary>
    public static string Word(ShapeSize size) => size == ShapeSize.Small ? "small" : "large";

    /// <summary>Every word a caption can contain, in a fixed order (the tokenizer's vocabulary).</summary>
    public static IReadOnlyList<string> Words { get; } = BuildWords();

    private static List<string> BuildWords()
    {
        var words = new List<string> { "a", "at", "the", "and", "on", "background", "small", "large" };
        words.AddRange(Enum.GetValues<ShapeKind>().Select(Word));
        words.AddRange(Colours.Select(c => c.Name));
        foreach (string word in Positions.SelectMany(p => p.Split(' ')))
        {
            if (!words.Contains(word))
            {
                words.Add(word);
            }
        }

        return words;
    }
}
