using System.Numerics;

namespace Backprop.Training;

public sealed partial class Trainer<T>
{
    private T[][]? _best;

    /// <summary>The epoch (from 1) with the lowest validation loss so far, or 0 before any epoch with validation.</summary>
    public int BestEpoch
    {
        get
        {
            int best = 0;
            for (int i = 0; i < History.Count; i++)
                if (History[i].ValLoss is { } l && (best == 0 || l < History[best - 1].ValLoss!.Value)) best = i + 1;
            return best;
        }
    }

    /// <summary>True when the last epoch was the best so far (the one early stopping keeps).</summary>
    public bool LastEpochIsBest => BestEpoch == Epoch && Epoch > 0;

    /// <summary>True when <see cref="TrainerOptions.Patience"/> epochs have passed without a lower validation loss.</summary>
    public bool ShouldStop => Options.Patience is { } p && BestEpoch > 0 && Epoch - BestEpoch >= p;

    /// <summary>
    /// Puts the best epoch's parameters and buffers back into the network (early stopping's result); false where this
    /// trainer has not seen that epoch (a run resumed after it: its checkpoint holds it).
    /// </summary>
    public bool RestoreBest()
    {
        if (_best is null) return false;
        var tensors = Values();
        for (int i = 0; i < tensors.Count; i++) _best[i].CopyTo(tensors[i].Span);
        return true;
    }

    // With a patience, a copy of the best epoch's state as the epochs go (parameters and running statistics).
    private void KeepIfBest(EpochResult r)
    {
        if (Options.Patience is null || !LastEpochIsBest) return;
        var tensors = Values();
        _best ??= [.. tensors.Select(t => new T[t.Length])];
        for (int i = 0; i < tensors.Count; i++) tensors[i].Span.CopyTo(_best[i]);
    }

    private List<Tensor<T>> Values() =>
        [.. Net.Layers.SelectMany(l => l.Parameters.Select(p => p.Value).Concat(l.Buffers.Select(b => b.Value)))];
}
