using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Backprop.Layers;

namespace Backprop.Training;

/// <summary>
/// Updates parameters from their gradients. Each optimizer keeps its state (velocities, moments) in tensors shaped
/// like the parameters, exposed through <see cref="State"/> for checkpoints.
/// </summary>
/// <remarks>
/// Weight decay (L2, the textbook's λ·W) adds <see cref="WeightDecay"/>·W to the gradient of every weight matrix
/// (never the biases) before the update; AdamW instead decays the weights directly (decoupled).
/// Updates are element-wise: they run on vectors (the same IEEE operations as the scalar formulas, so the results are
/// identical) and large parameters are split between the cores in 64-element-aligned chunks.
/// </remarks>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Tensor<T>[]> _state = new();
    private readonly IReadOnlyList<Parameter<T>> _params;
    private readonly int _slots;
    private ChunkJob? _job;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> with <paramref name="slots"/> (at most 2) state tensors each.</summary>
    protected Optimizer(IReadOnlyList<Parameter<T>> parameters, double lr, double weightDecay, int slots)
    {
        if (!(lr > 0) || !double.IsFinite(lr)) throw new InvalidInputException($"learning rate must be a positive number, not {lr}");
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new InvalidInputException($"weight decay must be 0 or more, not {weightDecay}");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 2);
        _params = parameters;
        _slots = slots;
        LearningRate = lr;
        WeightDecay = weightDecay;
        foreach (var p in parameters)
        {
            var slotsOf = new Tensor<T>[slots];
            for (int i = 0; i < slots; i++) slotsOf[i] = Tensor<T>.Zeros(p.Value.Shape.ToArray());
            _state.Add(slotsOf);
        }
    }

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; set; }

    /// <summary>L2 weight decay λ (0 for none).</summary>
    public double WeightDecay { get; }

    /// <summary>The number of updates made so far.</summary>
    public long Steps { get; set; }

    /// <summary>The optimizer's name as the command line spells it.</summary>
    public abstract string Kind { get; }

    /// <summary>Every state tensor, named by parameter index and slot, for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor<T> Value)> State =>
        _state.SelectMany((slots, i) => slots.Select((t, j) => ($"optimizer.{i}.{j}", t)));

    private bool CouplesDecay => WeightDecay > 0 && Kind != "adamw";

    /// <summary>Applies one update to every parameter.</summary>
    public void Step()
    {
        Steps++;
        BeginStep();
        int parts = Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity);
        for (int i = 0; i < _params.Count; i++)
        {
            int n = _params[i].Value.Length;
            if (n < ActivationLayer<T>.ParallelElements || parts < 2) UpdateRange(i, 0, n);
            else
            {
                var job = _job ??= new ChunkJob(this);
                job.Index = i;
                WorkerPool.Shared.Run(job, parts);
            }
        }
    }

    private void UpdateRange(int index, int lo, int hi)
    {
        var p = _params[index];
        int len = hi - lo;
        var w = p.Value.Span.Slice(lo, len);
        var g = p.Grad.Span.Slice(lo, len);
        bool isWeight = p.Name == "W";
        if (isWeight && CouplesDecay) TensorPrimitives.MultiplyAdd(w, T.CreateTruncating(WeightDecay), g, g);   // g += λ·W
        var slots = _state[index];
        Update(w, g, _slots > 0 ? slots[0].Span.Slice(lo, len) : default, _slots > 1 ? slots[1].Span.Slice(lo, len) : default, isWeight);
    }

    /// <summary>Called once per step, after <see cref="Steps"/> is incremented, before any update (for step-dependent factors).</summary>
    protected virtual void BeginStep() { }

    /// <summary>
    /// Updates one stretch of a parameter from its gradient and state slots (empty where the optimizer has fewer);
    /// <paramref name="isWeight"/> tells a weight matrix from a bias.
    /// </summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> s0, Span<T> s1, bool isWeight);

    /// <summary>Creates an optimizer by name with the textbook's defaults for anything not given.</summary>
    public static Optimizer<T> Create(string kind, IReadOnlyList<Parameter<T>> parameters, double? lr = null, double weightDecay = 0) =>
        kind.ToLowerInvariant() switch
        {
            "sgd" => new Sgd<T>(parameters, lr ?? 0.01, weightDecay),
            "momentum" => new Momentum<T>(parameters, lr ?? 0.01, 0.9, weightDecay),
            "nesterov" => new Nesterov<T>(parameters, lr ?? 0.01, 0.9, weightDecay),
            "adagrad" => new AdaGrad<T>(parameters, lr ?? 0.01, weightDecay),
            "rmsprop" => new RmsProp<T>(parameters, lr ?? 0.01, 0.99, weightDecay),
            "adam" => new Adam<T>(parameters, lr ?? 0.001, 0.9, 0.999, weightDecay),
            "adamw" => new Adam<T>(parameters, lr ?? 0.001, 0.9, 0.999, weightDecay == 0 ? 0.01 : weightDecay, decoupled: true),
            _ => throw new InvalidInputException($"unknown optimizer '{kind}'; expected sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw"),
        };

    /// <summary>The number of whole vectors in <paramref name="n"/> elements (0 where vectors are not accelerated).</summary>
    protected static int VectorEnd(int n) => Vector.IsHardwareAccelerated ? n - n % Vector<T>.Count : 0;

    private static readonly T MinNormal = typeof(T) == typeof(float) ? T.CreateTruncating(1.17549435E-38f) : T.CreateTruncating(2.2250738585072014E-308);

    /// <summary>
    /// Zero for values below the smallest normal number (in magnitude), else the value. Decaying state (a momentum of
    /// a gradient that stays 0, as for the weights of an always-blank pixel) otherwise sinks into subnormal numbers,
    /// whose arithmetic costs x86 processors about a hundred times more; at that size they change no update.
    /// </summary>
    protected static Vector<T> Flush(Vector<T> v) =>
        Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(v), new Vector<T>(MinNormal)), Vector<T>.Zero, v);

    /// <inheritdoc cref="Flush(Vector{T})"/>
    protected static T Flush(T v) => T.Abs(v) < MinNormal ? T.Zero : v;

    /// <summary>Vector i (counted in elements) of a span.</summary>
    protected static Vector<T> Load(ReadOnlySpan<T> s, int i) => Vector.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

    /// <summary>Stores vector v at element i of a span.</summary>
    protected static void Store(Vector<T> v, Span<T> s, int i) => v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

    // One parameter's update split into contiguous chunks, one per thread, aligned to 64 elements.
    private sealed class ChunkJob(Optimizer<T> optimizer) : WorkerPool.IJob
    {
        public int Index;

        public void Execute(int part, int parts)
        {
            var (lo, hi) = WorkerPool.Part(optimizer._params[Index].Value.Length, 64, part, parts);
            if (lo < hi) optimizer.UpdateRange(Index, lo, hi);
        }
    }
}

/// <summary>SGD: W ← W − lr·g.</summary>
public sealed class Sgd<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 0) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "sgd";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> s0, Span<T> s1, bool isWeight)
    {
        T lr = T.CreateTruncating(LearningRate);
        var vlr = new Vector<T>(lr);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count) Store(Load(w, i) - vlr * Load(g, i), w, i);
        for (; i < w.Length; i++) w[i] -= lr * g[i];
    }
}

/// <summary>Momentum: v ← m·v − lr·g; W ← W + v.</summary>
public sealed class Momentum<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "momentum";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> v, Span<T> s1, bool isWeight)
    {
        T m = T.CreateTruncating(momentum), lr = T.CreateTruncating(LearningRate);
        Vector<T> vm = new(m), vlr = new(lr);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var vi = Flush(vm * Load(v, i) - vlr * Load(g, i));
            Store(vi, v, i);
            Store(Load(w, i) + vi, w, i);
        }
        for (; i < w.Length; i++)
        {
            v[i] = Flush(m * v[i] - lr * g[i]);
            w[i] += v[i];
        }
    }
}

/// <summary>Nesterov momentum as the textbook writes it: v ← m·v − lr·g; W ← W + m²·v − (1 + m)·lr·g.</summary>
public sealed class Nesterov<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "nesterov";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> v, Span<T> s1, bool isWeight)
    {
        T m = T.CreateTruncating(momentum), lr = T.CreateTruncating(LearningRate);
        T mm = m * m, step = (T.One + m) * lr;
        Vector<T> vm = new(m), vlr = new(lr), vmm = new(mm), vstep = new(step);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var vi = Flush(vm * Load(v, i) - vlr * gi);
            Store(vi, v, i);
            Store(Load(w, i) + (vmm * vi - vstep * gi), w, i);
        }
        for (; i < w.Length; i++)
        {
            v[i] = Flush(m * v[i] - lr * g[i]);
            w[i] += mm * v[i] - step * g[i];
        }
    }
}

/// <summary>AdaGrad: h ← h + g²; W ← W − lr·g/(√h + 1e-7).</summary>
public sealed class AdaGrad<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "adagrad";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> h, Span<T> s1, bool isWeight)
    {
        T lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        Vector<T> vlr = new(lr), veps = new(eps);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var hi = Load(h, i) + gi * gi;
            Store(hi, h, i);
            Store(Load(w, i) - vlr * gi / (Vector.SquareRoot(hi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            h[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>RMSProp: h ← ρ·h + (1 − ρ)·g²; W ← W − lr·g/(√h + 1e-7), ρ = 0.99.</summary>
public sealed class RmsProp<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double decay = 0.99, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "rmsprop";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> h, Span<T> s1, bool isWeight)
    {
        T rho = T.CreateTruncating(decay), lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        T rest = T.One - rho;
        Vector<T> vrho = new(rho), vrest = new(rest), vlr = new(lr), veps = new(eps);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var hi = Flush(vrho * Load(h, i) + vrest * gi * gi);
            Store(hi, h, i);
            Store(Load(w, i) - vlr * gi / (Vector.SquareRoot(hi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            h[i] = Flush(rho * h[i] + rest * g[i] * g[i]);
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>
/// Adam as the textbook writes it: m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
/// W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + 1e-7). With <c>decoupled</c> (AdamW), W ← W − lr·λ·W first.
/// </summary>
/// <remarks>Momentum-like state (m, v here; v of Momentum and Nesterov; h of RMSProp) is flushed to zero below the
/// smallest normal number, as a processor's flush-to-zero mode would.</remarks>
public sealed class Adam<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double weightDecay = 0, bool decoupled = false)
    : Optimizer<T>(parameters, lr, weightDecay, 2) where T : unmanaged, IFloatingPointIeee754<T>
{
    private T _lrT;

    /// <inheritdoc/>
    public override string Kind => decoupled ? "adamw" : "adam";

    /// <inheritdoc/>
    protected override void BeginStep()
    {
        double t = Steps;
        _lrT = T.CreateTruncating(LearningRate * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t)));
    }

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> m, Span<T> v, bool isWeight)
    {
        T lrT = _lrT, b1 = T.CreateTruncating(1 - beta1), b2 = T.CreateTruncating(1 - beta2), eps = T.CreateTruncating(1e-7);
        T decay = T.CreateTruncating(decoupled && isWeight ? LearningRate * WeightDecay : 0);
        Vector<T> vlr = new(lrT), vb1 = new(b1), vb2 = new(b2), veps = new(eps), vdecay = new(decay);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var wi = Load(w, i);
            var gi = Load(g, i);
            wi -= vdecay * wi;
            var mi = Load(m, i);
            mi = Flush(mi + vb1 * (gi - mi));
            var vi = Load(v, i);
            vi = Flush(vi + vb2 * (gi * gi - vi));
            Store(mi, m, i);
            Store(vi, v, i);
            Store(wi - vlr * mi / (Vector.SquareRoot(vi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            w[i] -= decay * w[i];
            m[i] = Flush(m[i] + b1 * (g[i] - m[i]));
            v[i] = Flush(v[i] + b2 * (g[i] * g[i] - v[i]));
            w[i] -= lrT * m[i] / (T.Sqrt(v[i]) + eps);
        }
    }
}
