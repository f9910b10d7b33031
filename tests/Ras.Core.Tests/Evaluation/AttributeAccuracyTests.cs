using Ras.Data.Shapes;
using Ras.Evaluation;

namespace Ras.Tests.Evaluation;

public sealed class AttributeAccuracyTests
{
    private static ShapeReport Shape(bool present, bool colour, bool size, bool kind) =>
        new(present, colour, size, kind, null, null, null);

    [Fact]
    public void Shares_count_every_captioned_shape_and_adherence_is_split_by_shape_count()
    {
        SceneReport[] reports =
        [
            new(true, [Shape(true, true, true, true)], "red", "red"),                                        // adherent, 1 shape
            new(false, [Shape(true, true, true, true)], "red", "red"),                                       // wrong background, 1 shape
            new(true, [Shape(true, true, false, true), Shape(true, false, true, false)], "red", "blue"),     // 2 shapes, not adherent
            new(true, [Shape(true, true, true, true), Shape(false, false, false, false), Shape(true, true, true, false)], "red", "red"),
        ];

        AttributeAccuracy accuracy = AttributeAccuracy.Of(reports);

        Assert.Equal(0.75, accuracy.Background);
        Assert.Equal(6 / 7.0, accuracy.Present, 12);   // 7 shapes in all
        Assert.Equal(5 / 7.0, accuracy.Colour, 12);
        Assert.Equal(5 / 7.0, accuracy.Size, 12);
        Assert.Equal(4 / 7.0, accuracy.Kind, 12);
        Assert.Equal([0.5, 0.0, 0.0], accuracy.ByShapeCount);
    }

    [Fact]
    public void A_shape_count_with_no_images_is_null()
    {
        AttributeAccuracy accuracy = AttributeAccuracy.Of([new SceneReport(true, [Shape(true, true, true, true)], "red", "red")]);
        Assert.Equal([1.0, null, null], accuracy.ByShapeCount);
    }
}
