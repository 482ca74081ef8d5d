using System.Numerics;
using System.Runtime.CompilerServices;

namespace Backprop;

/// <summary>
/// A dense, row-major tensor of any rank over <c>float</c> or <c>double</c>.
/// The elements live in one array; <see cref="Reshape"/> makes a view of the same array without copying.
/// </summary>
/// <typeparam name="T"><c>float</c> or <c>double</c>.</typeparam>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _data;
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of the given shape.</summary>
    /// <exception cref="ShapeMismatchException">The shape's product is not the data's length.</exception>
    public Tensor(T[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        EnsureSupported();
        long n = CheckedLength(shape);
        if (n != data.Length)
            throw new ShapeMismatchException($"Tensor: shape {ShapeText(shape)} holds {n} elements, but the data has {data.Length}");
        _data = data;
        _shape = (int[])shape.Clone();
    }

    /// <summary>A new zero-filled tensor of the given shape.</summary>
    public static Tensor<T> Zeros(params int[] shape)
    {
        EnsureSupported();
        return new Tensor<T>(new T[CheckedLength(shape)], shape);
    }

    /// <summary>A new tensor with a copy of <paramref name="values"/>.</summary>
    public static Tensor<T> FromSpan(ReadOnlySpan<T> values, params int[] shape)
    {
        var t = Zeros(shape);
        if (values.Length != t.Length)
            throw new ShapeMismatchException($"Tensor: shape {ShapeText(shape)} holds {t.Length} elements, but {values.Length} values " +
                $"were given");
        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>The underlying array (shared with every reshaped view).</summary>
    public T[] Data => _data;

    /// <summary>The shape; do not modify the returned array.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => _data.Length;

    /// <summary>The elements in row-major order.</summary>
    public Span<T> Span => _data;

    /// <summary>Size of axis <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis)
    {
        int a = axis < 0 ? _shape.Length + axis : axis;
        if ((uint)a >= (uint)_shape.Length)
            throw new ArgumentOutOfRangeException(nameof(axis), axis,
                $"Tensor: axis {axis} of a tensor of shape {ShapeString} (rank {_shape.Length})");
        return _shape[a];
    }

    /// <summary>The element at a multi-index.</summary>
    public T this[params int[] index]
    {
        get => _data[Offset(index)];
        set => _data[Offset(index)] = value;
    }

    /// <summary>A view with another shape over the same elements (no copy). One axis may be -1 (inferred).</summary>
    public Tensor<T> Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            long rest = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) rest *= s[i];
            if (rest <= 0 || Length % rest != 0)
                throw new ShapeMismatchException($"Tensor: cannot reshape {ShapeText(_shape)} to {ShapeText(shape)}");
            s[infer] = (int)(Length / rest);
        }
        if (CheckedLength(s) != Length)
            throw new ShapeMismatchException($"Tensor: cannot reshape {ShapeText(_shape)} ({Length} elements) to {ShapeText(shape)}");
        return new Tensor<T>(_data, s);
    }

    /// <summary>True when both shapes are equal.</summary>
    public bool HasShape(ReadOnlySpan<int> shape) => shape.SequenceEqual(_shape);

    /// <summary>A deep copy.</summary>
    public Tensor<T> Clone() => new((T[])_data.Clone(), _shape);

    /// <summary>Throws <see cref="NonFiniteValueException"/> naming the first NaN or infinity and its index.</summary>
    public void EnsureFinite(string name)
    {
        for (int i = 0; i < _data.Length; i++)
        {
            if (!T.IsFinite(_data[i]))
                throw new NonFiniteValueException($"{name} contains {Describe(_data[i])} at index {IndexText(i)}; only finite numbers " +
                    $"are allowed");
        }
    }

    /// <summary>The shape as numpy prints it, e.g. <c>(2, 3)</c> or <c>(5,)</c>.</summary>
    public string ShapeString => ShapeText(_shape);

    /// <summary>The values as numpy's <c>print</c> shows them (precision 8, aligned columns, over 1000 values summarized
    /// with "..."); <see cref="ShapeString"/> gives the shape.</summary>
    public override string ToString() => NumpyFormat.Format(this);

    /// <summary>The shape as numpy prints it, e.g. <c>(2, 3)</c> or <c>(5,)</c>.</summary>
    public static string ShapeText(ReadOnlySpan<int> shape) =>
        shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape.ToArray()) + ")";

    internal string IndexText(int flat)
    {
        var idx = new int[_shape.Length];
        for (int a = _shape.Length - 1; a >= 0; a--)
        {
            idx[a] = flat % _shape[a];
            flat /= _shape[a];
        }
        return "[" + string.Join(", ", idx) + "]";
    }

    private static string Describe(T v) => T.IsNaN(v) ? "NaN" : T.IsPositive(v) ? "+Inf" : "-Inf";

    private int Offset(int[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != _shape.Length)
            throw new ShapeMismatchException($"Tensor: index of rank {index.Length} into a tensor of shape {ShapeString}");
        int off = 0;
        for (int a = 0; a < index.Length; a++)
        {
            if ((uint)index[a] >= (uint)_shape[a])
                throw new ArgumentOutOfRangeException(nameof(index), index[a],
                    $"Tensor: index {index[a]} is out of range for axis {a} of size {_shape[a]}");
            off = off * _shape[a] + index[a];
        }
        return off;
    }

    /// <summary>
    /// True when the product of <paramref name="factors"/> (each 0 or more, any size a long holds) is at most the longest
    /// array's length, computed without wrapping: the check before sizes reach unsafe code or a buffer.
    /// </summary>
    internal static bool FitsInArray(params ReadOnlySpan<long> factors)
    {
        Int128 n = 1;
        foreach (long f in factors)
        {
            if (f < 0) return false;
            n *= f;
            if (n > Array.MaxLength) return false;
        }
        return true;
    }

    internal static long CheckedLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ShapeMismatchException($"Tensor: negative dimension in shape {ShapeText(shape)}");
            n *= d;
            if (n > Array.MaxLength) throw new ShapeMismatchException($"Tensor: shape {ShapeText(shape)} is too large");
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EnsureSupported()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Tensor<{typeof(T).Name}>: only float and double are supported");
    }
}

/// <summary>Helpers for layers that keep a reusable output buffer.</summary>
internal static class TensorBuffer
{
    /// <summary>Returns <paramref name="buffer"/> when it already has <paramref name="shape"/>, else a new tensor, stored back.</summary>
    public static Tensor<T> Ensure<T>(ref Tensor<T>? buffer, ReadOnlySpan<int> shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (buffer is null || !buffer.HasShape(shape)) buffer = Tensor<T>.Zeros(shape.ToArray());
        return buffer;
    }

    /// <summary>As <see cref="Ensure{T}(ref Tensor{T}?, ReadOnlySpan{int})"/> for a 2-D shape, without allocating a shape array when
    /// reused.</summary>
    public static Tensor<T> Ensure<T>(ref Tensor<T>? buffer, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (buffer is null || buffer.Rank != 2 || buffer.Dim(0) != rows || buffer.Dim(1) != cols) buffer = Tensor<T>.Zeros(rows, cols);
        return buffer;
    }

    /// <summary>As <see cref="Ensure{T}(ref Tensor{T}?, ReadOnlySpan{int})"/> for a 1-D shape.</summary>
    public static Tensor<T> Ensure<T>(ref Tensor<T>? buffer, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (buffer is null || buffer.Rank != 1 || buffer.Dim(0) != n) buffer = Tensor<T>.Zeros(n);
        return buffer;
    }
}
