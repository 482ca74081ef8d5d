using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

// The passes, chunk by chunk of samples, the chunks split between threads; and each thread's buffers.
public sealed partial class Convolution<T>
{
    // Runs the forward or backward pass chunk by chunk of samples, the chunks split between threads. Each chunk's col
    // (or planes) lives in its thread's scratch, in cache, from its making to the product (backward builds it again rather
    // than keep K·N·OH·OW values for the whole batch); its products run on its own thread.
    private void Chunks(Form form, Epilogue<T>? epilogue, bool forward, Tensor<T>? dout, Tensor<T>? to, bool needDx)
    {
        int N = _x!.Dim(0), chunks = _plan.Chunks, groups = forward ? chunks : _plan.BackwardGroups;
        long work = N * _plan.CellsPerSample * W.Length;
        int parts = work < 1 << 18 ? 1 : Math.Min(Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity), groups);
        var job = _job ??= new ChunkJob(this);
        job.Set(form, epilogue, forward, dout, to, needDx, _plan.ChunkSize, chunks, groups);
        try
        {
            WorkerPool.Shared.Run(job, parts);
        }
        finally
        {
            job.Set(null, null, forward, null, null, false, 0, 0, 0);
        }
    }

    private ChunkJob? _job;
    private readonly Scratch?[] _scratch = new Scratch?[WorkerPool.Shared.Capacity];   // one per part of a job

    // One thread's buffers for one chunk: col (K, S·P), the product or dout (FN, S·P), and Wᵀ·dout (K, S·P); for the
    // gathered products also doutᵀ (S·P, FN) and dWᵀ (K, FN).
    private sealed class Scratch
    {
        public T[] Col = [], Out = [], Dcol = [], PackA = [], Masked = [], PoolMasked = [], Y = [], DoutT = [], DwT = [];
        public long[] Rows = [];

        // At least n elements, kept between steps (the last chunk of a batch may be shorter: it uses a prefix).
        public static Span<T> Take(ref T[] buffer, long n)
        {
            if (buffer.Length < n) buffer = new T[n];
            return buffer.AsSpan(0, (int)n);
        }
    }

    private Scratch ScratchFor(int part) => _scratch[part] ??= new Scratch();

    private sealed class ChunkJob(Convolution<T> layer) : WorkerPool.IJob
    {
        private Form? _form;
        private Epilogue<T>? _epilogue;
        private bool _forward, _needDx;
        private Tensor<T>? _dout, _to;
        private int _size, _chunks, _groups;

        public void Set(Form? form, Epilogue<T>? epilogue, bool forward, Tensor<T>? dout, Tensor<T>? to, bool needDx, int size,
            int chunks, int groups) =>
            (_form, _epilogue, _forward, _dout, _to, _needDx, _size, _chunks, _groups) =
            (form, epilogue, forward, dout, to, needDx, size, chunks, groups);

        public void Execute(int part, int parts)
        {
            var (g0, g1) = WorkerPool.Part(_groups, 1, part, parts);
            if (g0 >= g1) return;
            var form = _form!;
            var epilogue = _epilogue;
            bool relu = epilogue is not null, pools = epilogue?.Pool is not null;
            var scratch = layer.ScratchFor(part);
            bool serial = Gemm.SerialOnThisThread;
            Gemm.SerialOnThisThread = parts > 1;
            try
            {
                int outSample = layer._y!.Length / layer._y.Dim(0), fn = layer._y.Dim(1);
                int pooledSample = epilogue?.PooledSample ?? 0;
                for (int g = g0; g < g1; g++)
                {
                    // Groups are consecutive runs of chunks (WorkerPool.Part's split).
                    var (first, last) = WorkerPool.Part(_chunks, 1, g, _groups);
                    for (int c = first; c < last; c++)
                    {
                        int n0 = c * _size, n1 = Math.Min(n0 + _size, layer._x!.Dim(0));
                        var y = layer._y.Span.Slice(n0 * outSample, (n1 - n0) * outSample);
                        if (_forward)
                        {
                            // Where the pooling layer that follows is fused and needs no y for its backward pass (max
                            // pooling), the chunk's y stays in its scratch: written, pooled and dropped while in cache.
                            if (epilogue is { DropsOutput: true }) y = Scratch.Take(ref scratch.Y, y.Length);
                            // A form that fuses the ReLU applies it in its stores; for the others it runs right after, while
                            // the chunk's outputs are in cache.
                            form.ForwardChunk(scratch, n0, n1, y, relu);
                            if (relu && !form.FusesRelu) Elementwise.ReluForward<T>(y, y);
                            epilogue?.Forward(y, n0 * fn, n1 * fn);
                            continue;
                        }
                        var dx = _needDx ? _to : null;
                        // Without dx, a form that fuses the ReLU reads dout and the ReLU's mask in one pass.
                        bool maskInPass = form.FusesRelu && dx is null && relu && !pools;
                        ReadOnlySpan<T> dout;
                        if (pools)
                        {
                            // The pooling layer's and the ReLU's backward passes for the chunk, into its scratch.
                            var dy = Scratch.Take(ref scratch.Masked, (n1 - n0) * outSample);
                            var masked = Scratch.Take(ref scratch.PoolMasked, (n1 - n0) * pooledSample);
                            epilogue!.Backward(_dout!.Span, dy, n0 * fn, n1 * fn, masked);
                            dout = dy;
                        }
                        else dout = _dout!.Span.Slice(n0 * outSample, (n1 - n0) * outSample);
                        if (relu && !maskInPass && !pools)
                        {
                            // dout is the ReLU's; y is its output, positive exactly where its input was.
                            var masked = Scratch.Take(ref scratch.Masked, dout.Length);
                            Elementwise.ReluBackward<T>(y, dout, masked);
                            dout = masked;
                        }
                        // A group's first chunk starts its sums, the others add to them (Winograd's groups of chunks).
                        form.BackwardChunk(scratch, g, c, c > first, n0, n1, dout, maskInPass ? y : default, dx);
                    }
                }
            }
            finally
            {
                Gemm.SerialOnThisThread = serial;
            }
        }
    }
}
