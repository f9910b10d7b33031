using System.Text;

namespace Ras.Data.Shapes;

/// <summary>One shape of a scene.</summary>
/// <param name="Kind">Circle, square, triangle or star.</param>
/// <param name="Size">Small or large.</param>
/// <param name="Colour">Fill colour.</param>
/// <param name="Position">Grid cell, row-major 0..8 (see <see cref="ShapeVocabulary.Positions"/>).</param>
public sealed record SceneShape(ShapeKind Kind, ShapeSize Size, ShapeColour Colour, int Position);

/// <summary>
/// A scene of the procedural dataset: one to three shapes in distinct grid cells on a plain background or a
/// vertical two-colour gradient (<see cref="Top"/> at the top, <see cref="Bottom"/> at the bottom).
/// </summary>
/// <param name="Shapes">The shapes, drawn in order.</param>
/// <param name="Top">Background colour (the only one when plain).</param>
/// <param name="Bottom">Second gradient colour, or null for a plain background.</param>
public sealed record ShapeScene(IReadOnlyList<SceneShape> Shapes, ShapeColour Top, ShapeColour? Bottom)
{
    /// <summary>Seed stream of the training scenes.</summary>
    public const ulong TrainStream = 1;

    /// <summary>Seed stream of the held-out evaluation scenes (disjoint from training).</summary>
    public const ulong EvalStream = 2;

    /// <summary>Seed stream of the validation scenes that settings are tuned on (disjoint from training and held-out).</summary>
    public const ulong ValidationStream = 3;

    /// <summary>Most shapes a scene has.</summary>
    public const int MaxShapes = 3;

    /// <summary>The caption, following the fixed template.</summary>
    public string Caption
    {
        get
        {
            var text = new StringBuilder();
            for (int i = 0; i < Shapes.Count; i++)
            {
                SceneShape s = Shapes[i];
                text.Append(i == 0 ? "a " : " and a ")
                    .Append(ShapeVocabulary.Word(s.Size)).Append(' ')
                    .Append(s.Colour.Name).Append(' ')
                    .Append(ShapeVocabulary.Word(s.Kind))
                    .Append(" at the ").Append(ShapeVocabulary.Positions[s.Position]);
            }

            text.Append(" on a ").Append(Top.Name);
            if (Bottom is not null)
            {
                text.Append(" and ").Append(Bottom.Name);
            }

            return text.Append(" background").ToString();
        }
    }

    /// <summary>Scene <paramref name="index"/> of <paramref name="stream"/> under <paramref name="seed"/>; deterministic.</summary>
    public static ShapeScene Sample(ulong seed, ulong stream, long index) => Sample(SplitMix64.For(seed, stream, (ulong)index));

    /// <summary>Draws a scene: 1–3 shapes (uniform), distinct cells, colours never equal to the background's.</summary>
    public static ShapeScene Sample(SplitMix64 random)
    {
        ArgumentNullException.ThrowIfNull(random);
        IReadOnlyList<ShapeColour> colours = ShapeVocabulary.Colours;
        ShapeColour top = colours[random.Next(colours.Count)];
        ShapeColour? bottom = null;
        if (random.Next(2) == 1)
        {
            do
            {
                bottom = colours[random.Next(colours.Count)];
            }
            while (bottom == top);
        }

        int count = 1 + random.Next(MaxShapes);
        var cells = Enumerable.Range(0, 9).ToList();
        var shapes = new List<SceneShape>();
        for (int i = 0; i < count; i++)
        {
            int cell = cells[random.Next(cells.Count)];
            cells.Remove(cell);
            ShapeColour colour;
            do
            {
                colour = colours[random.Next(colours.Count)];
            }
            while (colour == top || colour == bottom);

            shapes.Add(new SceneShape((ShapeKind)random.Next(4), (ShapeSize)random.Next(2), colour, cell));
        }

        return new ShapeScene(shapes, top, bottom);
    }
}
