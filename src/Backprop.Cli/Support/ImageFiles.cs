using Backprop;
using SkiaSharp;

namespace Backprop.Cli.Support;

/// <summary>
/// PNG and JPEG images decoded with SkiaSharp (the library ScottPlot already brings), scaled to the asked size, as
/// values in [0, 1], channels first: one channel where the image is grey (every pixel's red, green and blue equal),
/// three otherwise.
/// </summary>
internal static class ImageFiles
{
    /// <summary>The largest image file decoded: 64 MiB.</summary>
    public const long MaxBytes = 64L << 20;

    public static (float[] Pixels, int Channels) Decode(string path, int height, int width)
    {
        var bytes = Backprop.IO.BoundedFile.ReadAllBytes(path, MaxBytes);
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new InvalidFileException($"{path}: not an image that decodes (PNG or JPEG)");
        using var original = SKBitmap.Decode(codec) ?? throw new InvalidFileException($"{path}: not an image that decodes (PNG or JPEG)");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var scaled = original.Width == width && original.Height == height && original.ColorType == SKColorType.Rgba8888
            ? original.Copy() : original.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InvalidFileException($"{path}: the image could not be scaled to {height}×{width}");
        using var rgba = scaled.ColorType == SKColorType.Rgba8888 ? scaled.Copy() : scaled.Copy(SKColorType.Rgba8888);
        var pixels = rgba.GetPixelSpan();
        int plane = height * width;
        bool grey = true;
        for (int i = 0; i < plane && grey; i++) grey = pixels[4 * i] == pixels[4 * i + 1] && pixels[4 * i] == pixels[4 * i + 2];
        var values = new float[(grey ? 1 : 3) * plane];
        for (int i = 0; i < plane; i++)
        {
            if (grey) values[i] = pixels[4 * i] / 255f;
            else
                for (int c = 0; c < 3; c++) values[c * plane + i] = pixels[4 * i + c] / 255f;
        }
        return (values, grey ? 1 : 3);
    }
}
