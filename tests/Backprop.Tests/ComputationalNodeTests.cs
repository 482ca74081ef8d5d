using Backprop.Gradients;
using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>
/// The book's multiplication and addition nodes (§5.4): the apple example's numbers from buy_apple.py, and both backward
/// passes against numerical gradients on random shapes, rank 4 included.
/// </summary>
public class ComputationalNodeTests
{
    [Fact]
    public void The_apple_example_gives_the_books_numbers()
    {
        // buy_apple.py: price 220; dApple 2.2, dApple_num 110, dTax 200.
        var mulApple = new MultiplyNode<double>();
        var mulTax = new MultiplyNode<double>();
        var applePrice = mulApple.Forward(new Tensor<double>([100.0], 1), new Tensor<double>([2.0], 1));
        var price = mulTax.Forward(applePrice, new Tensor<double>([1.1], 1));
        Assert.Equal(220, price.Span[0], 9);
        var (dApplePrice, dTax) = mulTax.Backward(new Tensor<double>([1.0], 1));
        var (dApple, dAppleNum) = mulApple.Backward(dApplePrice);
        Assert.Equal(2.2, dApple.Span[0], 12);
        Assert.Equal(110, dAppleNum.Span[0], 9);
        Assert.Equal(200, dTax.Span[0], 9);
        // buy_apple_orange.py's add node: all_price 650 passes dout 1.1 to both prices.
        var add = new AddNode<double>();
        Assert.Equal(650, add.Forward(new Tensor<double>([200.0], 1), new Tensor<double>([450.0], 1)).Span[0]);
        var (da, db) = add.Backward(new Tensor<double>([1.1], 1));
        Assert.Equal((1.1, 1.1), (da.Span[0], db.Span[0]));
    }

    public static TheoryData<int[]> Shapes() =>
        new() { new[] { 1 }, new[] { 7 }, new[] { 3, 17 }, new[] { 2, 3, 5, 1 }, new[] { 1, 1, 1, 9 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Both_backward_passes_match_numerical_gradients(int[] shape)
    {
        var rng = new Random(shape.Sum());
        var x = TestUtil.Random<double>(rng, shape);
        var y = TestUtil.Random<double>(rng, shape);
        var r = TestUtil.Random<double>(rng, shape);   // L = Σ r ⊙ z, so dout = r
        foreach (bool multiply in new[] { true, false })
        {
            Func<Tensor<double>> forward;
            Func<(Tensor<double>, Tensor<double>)> backward;
            if (multiply)
            {
                var node = new MultiplyNode<double>();
                forward = () => node.Forward(x, y);
                backward = () => node.Backward(r);
            }
            else
            {
                var node = new AddNode<double>();
                forward = () => node.Forward(x, y);
                backward = () => node.Backward(r);
            }
            forward();
            var (dx, dy) = backward();
            double L()
            {
                var z = forward();
                double s = 0;
                for (int i = 0; i < z.Length; i++) s += z.Span[i] * r.Span[i];
                return s;
            }
            string name = multiply ? "multiply" : "add";
            var cx = GradientCheck.Compare(name, "x", dx.Span, GradientCheck.Numeric(x, L));
            var cy = GradientCheck.Compare(name, "y", dy.Span, GradientCheck.Numeric(y, L));
            Assert.True(cx.MaxRelativeError < 1e-9, $"{name} dx: {cx.MaxRelativeError}");
            Assert.True(cy.MaxRelativeError < 1e-9, $"{name} dy: {cy.MaxRelativeError}");
        }
    }

    [Fact]
    public void Shapes_that_differ_and_a_backward_before_forward_are_refused()
    {
        Assert.Throws<ShapeMismatchException>(() => new MultiplyNode<float>().Forward(Tensor<float>.Zeros(2), Tensor<float>.Zeros(3)));
        Assert.Throws<ShapeMismatchException>(() => new AddNode<float>().Forward(Tensor<float>.Zeros(2, 1), Tensor<float>.Zeros(2)));
        Assert.Throws<InvalidInputException>(() => new MultiplyNode<float>().Backward(Tensor<float>.Zeros(1)));
        Assert.Throws<InvalidInputException>(() => new AddNode<float>().Backward(Tensor<float>.Zeros(1)));
        var m = new MultiplyNode<float>();
        m.Forward(Tensor<float>.Zeros(2), Tensor<float>.Zeros(2));
        Assert.Throws<ShapeMismatchException>(() => m.Backward(Tensor<float>.Zeros(3)));
    }
}
