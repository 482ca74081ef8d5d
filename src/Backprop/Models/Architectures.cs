namespace Backprop.Models;

/// <summary>The textbook's named networks as descriptions, for one-channel images (Fashion-MNIST, MNIST) of 28×28.</summary>
public static class Architectures
{
    /// <summary>The names <see cref="Named"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["simple_convnet", "deep_convnet"];

    /// <summary>A named network; null for another name.</summary>
    public static ModelDescription? Named(string name, string dtype = "float32", int classes = 10) => name switch
    {
        "simple_convnet" => SimpleConvNet(dtype, classes),
        "deep_convnet" => DeepConvNet(dtype, classes),
        _ => null,
    };

    private static LayerDescription L(string kind, params (string Name, object Value)[] values) =>
        new(kind, values.ToDictionary(v => v.Name, v => v.Value));

    private static LayerDescription Conv(int filters, int channels, int pad) =>
        L("convolution", ("filters", filters), ("channels", channels), ("kernel_h", 3), ("kernel_w", 3), ("pad", pad));

    /// <summary>
    /// ch. 7's SimpleConvNet: convolution 30×5×5 – ReLU – max pooling 2×2 stride 2 – affine 100 – ReLU – affine, with
    /// softmax cross-entropy; He initialization.
    /// </summary>
    public static ModelDescription SimpleConvNet(string dtype = "float32", int classes = 10) => new(dtype,
    [
        L("convolution", ("filters", 30), ("channels", 1), ("kernel_h", 5), ("kernel_w", 5)),
        L("relu"),
        L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)),
        L("fully_connected", ("inputs", 30 * 12 * 12), ("outputs", 100)),
        L("relu"),
        L("fully_connected", ("inputs", 100), ("outputs", classes)),
    ], "softmax_cross_entropy");

    /// <summary>
    /// ch. 8's DeepConvNet: six 3×3 convolutions of 16, 16, 32, 32, 64, 64 filters with ReLU (the fourth padded by 2, the
    /// others by 1), max pooling 2×2 after each pair, affine 50 – ReLU – dropout 0.5 – affine – dropout 0.5; He
    /// initialization.
    /// </summary>
    public static ModelDescription DeepConvNet(string dtype = "float32", int classes = 10) => new(dtype,
    [
        Conv(16, 1, 1), L("relu"), Conv(16, 16, 1), L("relu"), L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)),
        Conv(32, 16, 1), L("relu"), Conv(32, 32, 2), L("relu"), L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)),
        Conv(64, 32, 1), L("relu"), Conv(64, 64, 1), L("relu"), L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)),
        L("fully_connected", ("inputs", 64 * 4 * 4), ("outputs", 50)), L("relu"), L("dropout", ("p", 0.5)),
        L("fully_connected", ("inputs", 50), ("outputs", classes)), L("dropout", ("p", 0.5)),
    ], "softmax_cross_entropy");
}
