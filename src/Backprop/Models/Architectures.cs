namespace Backprop.Models;

/// <summary>The textbook's named networks as descriptions, for one-channel images (Fashion-MNIST, MNIST) of 28×28.</summary>
public static class Architectures
{
    /// <summary>The names <see cref="Named"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["simple_convnet", "deep_convnet", "resnet_small"];

    /// <summary>A named network; null for another name.</summary>
    public static ModelDescription? Named(string name, string dtype = "float32", int classes = 10) => name switch
    {
        "simple_convnet" => SimpleConvNet(dtype, classes),
        "deep_convnet" => DeepConvNet(dtype, classes),
        "resnet_small" => ResNetSmall(dtype, classes),
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

    /// <summary>
    /// A small residual network for 28×28 images (the peers' <c>cnn_torch.py --net resnet</c>): a stem convolution 16 3×3
    /// pad 1 – batch norm – ReLU; three stages of two basic blocks of 16, 32 and 64 channels, the first block of stages 2
    /// and 3 with stride 2 and a shortcut of a 1×1 convolution of stride 2 – batch norm, the others the identity; a basic
    /// block is convolution 3×3 pad 1 – batch norm – ReLU – convolution 3×3 pad 1 – batch norm, plus the shortcut, then
    /// ReLU; global average pooling – affine. Batch norm as PyTorch's defaults (eps 1e-5, momentum 0.9 in the book's
    /// convention); He initialization.
    /// </summary>
    public static ModelDescription ResNetSmall(string dtype = "float32", int classes = 10)
    {
        var nodes = new List<LayerDescription>();
        string Add(string node, string from, LayerDescription d)
        {
            nodes.Add(d with { Node = node, From = [from] });
            return node;
        }
        LayerDescription C(int filters, int channels, int kernel, int stride, int pad) => L("convolution", ("filters", filters),
            ("channels", channels), ("kernel_h", kernel), ("kernel_w", kernel), ("stride", stride), ("pad", pad));
        LayerDescription Bn(int channels) => L("batch_norm_2d", ("channels", channels));
        string v = Add("stem_bn", Add("stem", "x", C(16, 1, 3, 1, 1)), Bn(16));
        v = Add("stem_relu", v, L("relu"));
        int channels = 16;
        foreach (var (stage, width) in new[] { (1, 16), (2, 32), (3, 64) })
            for (int block = 1; block <= 2; block++)
            {
                string b = $"s{stage}b{block}";
                int stride = stage > 1 && block == 1 ? 2 : 1;
                string y = Add($"{b}_relu1", Add($"{b}_bn1", Add($"{b}_conv1", v, C(width, channels, 3, stride, 1)), Bn(width)), L("relu"));
                y = Add($"{b}_bn2", Add($"{b}_conv2", y, C(width, width, 3, 1, 1)), Bn(width));
                string shortcut = stride != 1 || channels != width
                    ? Add($"{b}_short_bn", Add($"{b}_short", v, C(width, channels, 1, stride, 0)), Bn(width)) : v;
                nodes.Add(new LayerDescription("add", new Dictionary<string, object>()) { Node = $"{b}_add", From = [y, shortcut] });
                v = Add($"{b}_relu", $"{b}_add", L("relu"));
                channels = width;
            }
        v = Add("flatten", Add("pool", v, L("global_average_pooling")), L("flatten"));
        Add("fc", v, L("fully_connected", ("inputs", 64), ("outputs", classes)));
        return new ModelDescription(dtype, nodes, "softmax_cross_entropy") { Output = "fc" };
    }
}
