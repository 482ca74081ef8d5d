using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>
/// A kind's name is written once, on its layer class (<see cref="LayerKindAttribute"/>): every registered kind is named as
/// its class says, and the layers it builds report that name.
/// </summary>
public class KindNameTests
{
    public static TheoryData<string> Kinds() => new(Models.Kinds.Layers.Select(k => k.Name));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_and_its_layers_carry_the_name_their_class_declares(string name)
    {
        var kind = Models.Kinds.Layer(name);
        Assert.Equal(LayerKindAttribute.NameOf(kind.LayerType), kind.Name);
        var values = new Dictionary<string, object>();
        foreach (var h in kind.Hyperparameters.Where(h => h.Required)) values[h.Name] = 3;
        if (name == "convolution") (values["kernel_h"], values["kernel_w"]) = (1, 1);
        var layer = kind.Create<double>(Models.Kinds.Configure(kind, values, name, new Rng(1)));
        Assert.Equal(name, layer.Kind);
    }

    [Fact]
    public void A_layer_class_without_the_attribute_is_named_after_itself()
    {
        Assert.Equal("relu", LayerKindAttribute.NameOf(typeof(Relu<float>)));
        Assert.Equal("undeclared", LayerKindAttribute.NameOf(typeof(Undeclared)));
    }

    private sealed class Undeclared : Layer<double>
    {
        public override IReadOnlyList<Parameter<double>> Parameters => [];
        public override Tensor<double> Forward(Tensor<double> x) => x;
        public override Tensor<double> Backward(Tensor<double> dout) => dout;
    }
}
