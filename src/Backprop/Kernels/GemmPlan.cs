namespace Backprop.Kernels;

/// <summary>The ways a product runs (see <see cref="Gemm.Plan{T}(GemmPath, bool, bool, int, int, int, int)"/>).</summary>
public enum GemmMethod
{
    /// <summary>M or N is 0: nothing to compute.</summary>
    Empty,
    /// <summary>K is 0: C is the bias (or keeps its value, accumulating).</summary>
    BiasOnly,
    /// <summary>At most one vector of columns: each row of C in one masked AVX-512 register, eight rows at a time
    /// (Gemm.Narrow.cs).</summary>
    Narrow,
    /// <summary>At most two vectors of columns: two masked registers a row (Gemm.Narrow.cs).</summary>
    Narrow2,
    /// <summary>A short reduction (K ≤ 16) against a transposed B: B transposed once, then the direct rows (Gemm.Narrow.cs).</summary>
    ShortTransposedB,
    /// <summary>No packing: rows of C in registers, dot-product groups or outer products (Gemm.Direct.cs, Gemm.DotGroups.cs,
    /// Gemm.Outer.cs).</summary>
    Direct,
    /// <summary>Few rows and columns, a long reduction against a transposed B (a convolution's dW): unpacked 4×4 blocks of
    /// dot products over L2-sized blocks of K (Gemm.LongDot.cs).</summary>
    LongDot,
    /// <summary>The packed path on Cᵀ = op(B)ᵀ·op(A)ᵀ, for few columns and many rows (Gemm.Packed.cs).</summary>
    PackedTransposed,
    /// <summary>Packed, cache-blocked micro-panels and a register-tiled micro-kernel (Gemm.Packed.cs).</summary>
    Packed,
}

/// <summary>How one product runs: the method, the instruction set, the threads it is split between and how.</summary>
/// <param name="Method">The code path.</param>
/// <param name="Path">The vector width.</param>
/// <param name="Parts">The threads (1: not split).</param>
/// <param name="SplitRows">Split by rows of C (else by columns), where <paramref name="Parts"/> &gt; 1.</param>
internal readonly record struct GemmPlan(GemmMethod Method, GemmPath Path, int Parts, bool SplitRows)
{
    /// <inheritdoc/>
    public override string ToString() =>
        Parts > 1 ? $"{Method} ({Path}, {Parts} threads by {(SplitRows ? "rows" : "columns")})" : $"{Method} ({Path}, 1 thread)";
}
