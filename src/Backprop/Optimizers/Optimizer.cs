using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Optimizers;

/// <summary>
/// Updates parameters from their gradients. Each optimizer keeps its state (velocities, moments) in tensors shaped
/// like the parameters, exposed through <see cref="State"/> for checkpoints.
/// </summary>
/// <remarks>
/// Weight decay (L2, the textbook's λ·W) adds <see cref="WeightDecay"/>·W to the gradient of every parameter whose role
/// decays (<see cref="Parameter{T}.Decays"/>: weights, never biases or normalization parameters) before the update;
/// AdamW instead decays those parameters directly (decoupled). <see cref="Step(Network{T})"/> runs a whole training
/// step's backward pass and update, so that an optimizer can fuse the two where a layer offers it.
/// Updates are element-wise: they run on vectors (the same IEEE operations as the scalar formulas, so the results are
/// identical) and large parameters are split between the cores in 64-element-aligned chunks.
/// </remarks>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Tensor<T>[]> _state = new();
    private readonly IReadOnlyList<Parameter<T>> _params;
    private readonly int _slots;
    private ChunkJob? _job;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> with <paramref name="slots"/> (at most 2) state tensors
    /// each.</summary>
    protected Optimizer(IReadOnlyList<Parameter<T>> parameters, double lr, double weightDecay, int slots)
    {
        if (!(lr > 0) || !double.IsFinite(lr)) throw new InvalidInputException($"learning rate must be a positive number, not {lr}");
        if (!(weightDecay >= 0)
            || !double.IsFinite(weightDecay)) throw new InvalidInputException($"weight decay must be 0 or more, not {weightDecay}");
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

    /// <summary>Which optimizer this is.</summary>
    public abstract OptimizerKind Kind { get; }

    /// <summary>Every setting of this optimizer, defaults resolved: what a checkpoint records to rebuild it.</summary>
    public abstract OptimizerSettings Settings { get; }

    /// <summary>Every state tensor, named by parameter index and slot, for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor<T> Value)> State =>
        _state.SelectMany((slots, i) => slots.Select((t, j) => ($"optimizer.{i}.{j}", t)));

    private bool CouplesDecay => WeightDecay > 0 && !Kind.DecouplesDecay;

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _params;

    private Network<T>? _checkedNet;

    /// <summary>
    /// One training step after the forward pass and loss of <paramref name="net"/>: the backward pass (without ∂L/∂x of
    /// the input), then the update. The network's parameters must be the ones this optimizer was created over.
    /// </summary>
    public virtual void Step(Network<T> net)
    {
        CheckOwns(net);
        net.Backward(T.One, inputGradient: false);
        Step();
    }

    /// <summary>Throws unless <paramref name="net"/>'s parameters are exactly this optimizer's, in order.</summary>
    protected void CheckOwns(Network<T> net)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (ReferenceEquals(_checkedNet, net)) return;
        var theirs = net.Parameters;
        bool same = theirs.Count == _params.Count;
        for (int i = 0; same && i < theirs.Count; i++) same = ReferenceEquals(theirs[i].Value, _params[i].Value);
        if (!same) throw new InvalidInputException($"{GetType().Name.Split('`')[0]}: the network's parameters are not the ones the " +
            $"optimizer was created over; create it from net.Parameters");
        _checkedNet = net;
    }

    /// <summary>Applies one update to every parameter from the gradients the last backward pass stored.</summary>
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
        bool isWeight = p.Decays;
        if (isWeight && CouplesDecay) TensorPrimitives.MultiplyAdd(w, T.CreateTruncating(WeightDecay), g, g);   // g += λ·W
        var slots = _state[index];
        Update(w, g, _slots > 0 ? slots[0].Span.Slice(lo, len) : default, _slots > 1 ? slots[1].Span.Slice(lo, len) : default, isWeight);
    }

    /// <summary>Called once per step, after <see cref="Steps"/> is incremented, before any update (for step-dependent factors).</summary>
    protected virtual void BeginStep() { }

    /// <summary>
    /// Updates one stretch of a parameter from its gradient and state slots (empty where the optimizer has fewer);
    /// <paramref name="isWeight"/> is true for parameters that weight decay applies to.
    /// </summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> s0, Span<T> s1, bool isWeight);

    /// <summary>Creates an optimizer from its settings (defaults for anything not given).</summary>
    public static Optimizer<T> Create(OptimizerSettings settings, IReadOnlyList<Parameter<T>> parameters)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(parameters);
        settings.Validate();
        var s = settings.Resolved();
        s.Validate();
        return s.Kind.Create(parameters, s);
    }

    /// <summary>Creates an optimizer by its registered name (<see cref="OptimizerKind.All"/>) with the kind's defaults for anything
    /// not given.</summary>
    public static Optimizer<T> Create(string kind, IReadOnlyList<Parameter<T>> parameters, double? lr = null, double? weightDecay = null) =>
        Create(new OptimizerSettings { Kind = OptimizerSettings.Parse(kind), LearningRate = lr, WeightDecay = weightDecay }, parameters);

    /// <summary>The number of whole vectors in <paramref name="n"/> elements (0 where vectors are not accelerated).</summary>
    protected static int VectorEnd(int n) => Vector.IsHardwareAccelerated ? n - n % Vector<T>.Count : 0;

    private static readonly T MinNormal = typeof(T) == typeof(float) ? T.CreateTruncating(1.17549435E-38f)
        : T.CreateTruncating(2.2250738585072014E-308);

    /// <summary>
    /// Zero for values below the smallest normal number (in magnitude), else the value. Decaying state (a momentum of
    /// a gradient that stays 0, as for the weights of an always-blank pixel) otherwise sinks into subnormal numbers,
    /// whose arithmetic costs x86 processors about a hundred times more; at that size they change no update.
    /// </summary>
    protected static Vector<T> Flush(Vector<T> v) =>
        Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(v), new Vector<T>(MinNormal)), Vector<T>.Zero, v);

    /// <inheritdoc cref="Flush(Vector{T})"/>
    protected static Vector512<T> Flush(Vector512<T> v) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(v), Vector512.Create(MinNormal)), Vector512<T>.Zero, v);

    /// <inheritdoc cref="Flush(Vector{T})"/>
    protected static T Flush(T v) => T.Abs(v) < MinNormal ? T.Zero : v;

    /// <summary>
    /// The number of elements in whole 512-bit vectors of <paramref name="n"/> where the processor runs them (AVX-512),
    /// else 0. <see cref="Vector{T}"/> is 256 bits wide even there, so an update bound by its square roots and divisions
    /// (Adam's) runs its first elements in these.
    /// </summary>
    protected static int Vector512End(int n) => Vector512.IsHardwareAccelerated ? n - n % Vector512<T>.Count : 0;

    /// <summary>512-bit vector i (counted in elements) of a span.</summary>
    protected static Vector512<T> Load512(ReadOnlySpan<T> s, int i) => Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

    /// <summary>Stores 512-bit vector v at element i of a span.</summary>
    protected static void Store512(Vector512<T> v, Span<T> s, int i) => v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

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
