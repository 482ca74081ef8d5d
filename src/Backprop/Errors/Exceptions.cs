namespace Backprop;

/// <summary>The base of every error Backprop raises for bad input or misuse. Its message is meant for people.</summary>
public abstract class BackpropException : Exception
{
    /// <summary>Creates the exception with a message for people.</summary>
    protected BackpropException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A tensor's shape does not fit where it was used. The message names the layer and both shapes.</summary>
public sealed class ShapeMismatchException : BackpropException
{
    /// <summary>Creates the exception.</summary>
    public ShapeMismatchException(string message) : base(message) { }
}

/// <summary>A NaN or infinity was found where only finite numbers are allowed. The message names its position.</summary>
public sealed class NonFiniteValueException : BackpropException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteValueException(string message) : base(message) { }
}

/// <summary>Text or JSON input is malformed. <see cref="Line"/> and <see cref="Column"/> are 1-based (0 when unknown).</summary>
public sealed class InputFormatException : BackpropException
{
    /// <summary>1-based line of the error, 0 when unknown.</summary>
    public int Line { get; }
    /// <summary>1-based column of the error, 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>Creates the exception; the position is appended to the message.</summary>
    public InputFormatException(string message, int line, int column, Exception? inner = null)
        : base(line > 0 ? $"{message} (line {line}, column {column})" : message, inner)
    {
        Line = line;
        Column = column;
    }
}

/// <summary>An input, option or kind is unknown, missing or has an invalid value.</summary>
public sealed class InvalidInputException : BackpropException
{
    /// <summary>Creates the exception.</summary>
    public InvalidInputException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A saved model, checkpoint or data file is truncated, corrupted or of the wrong kind.</summary>
public sealed class InvalidFileException : BackpropException
{
    /// <summary>Creates the exception.</summary>
    public InvalidFileException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Training stopped because the loss became NaN or infinite. The message names the epoch and the batch; what was saved
/// before (the last good checkpoint) is untouched.
/// </summary>
public sealed class TrainingDivergedException : BackpropException
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, int epoch, int batch) : base(message)
    {
        Epoch = epoch;
        Batch = batch;
    }

    /// <summary>The epoch (1-based) in which the loss stopped being finite.</summary>
    public int Epoch { get; }

    /// <summary>The batch (1-based) of that epoch.</summary>
    public int Batch { get; }
}
