using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Layers;

namespace Backprop.Cli.Grading;

/// <summary>
/// Runs the cases on a C# student's layer: a class deriving from <see cref="Layer{T}"/> in a compiled assembly, loaded in a
/// collectible context of its own (the library itself is shared, so its types match), with a time limit for the whole file.
/// </summary>
internal static class AssemblyRunner
{
    public static (string Layer, string ClassName) Find(string dll, string typeName, string? layer, out Type type)
    {
        var alc = new AssemblyLoadContext($"grade {Path.GetFileName(dll)}", isCollectible: true);
        Assembly asm;
        try { asm = alc.LoadFromAssemblyPath(Path.GetFullPath(dll)); }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
        {
            throw new InvalidInputException($"grade: {dll} cannot be loaded as a .NET assembly ({e.Message})");
        }
        var t = asm.GetType(typeName) ?? throw new InvalidInputException($"grade: {dll} has no type {typeName}; give the full name " +
            $"(namespace included): {string.Join(", ", SafeTypes(asm).Where(x => IsLayer(x)).Select(x => x.FullName).Take(10))}");
        if (t.IsGenericTypeDefinition)
        {
            if (t.GetGenericArguments().Length != 1) throw new InvalidInputException($"grade: {typeName} must take one type parameter (T)");
            t = t.MakeGenericType(typeof(double));
        }
        if (!typeof(Layer<double>).IsAssignableFrom(t))
            throw new InvalidInputException($"grade: {typeName} does not derive from Backprop.Layers.Layer<T>");
        type = t;
        bool fc = t.GetConstructor([typeof(Tensor<double>), typeof(Tensor<double>)]) is not null;
        string name = typeName.Split('.')[^1].Split('`')[0];
        string kind = layer ?? (fc ? "fully_connected"
            : name.Contains("Relu", StringComparison.OrdinalIgnoreCase) ? "relu"
            : name.Contains("Sigmoid", StringComparison.OrdinalIgnoreCase) ? "sigmoid"
            : name.Contains("Tanh", StringComparison.OrdinalIgnoreCase) ? "tanh"
            : throw new InvalidInputException($"grade: cannot tell which layer {typeName} is; say it with --layer"));
        if (kind == "fully_connected" && !fc)
            throw new InvalidInputException($"grade: {typeName} needs a constructor (Tensor<T> W, Tensor<T> b) as the exercise builds it");
        if (kind != "fully_connected" && t.GetConstructor(Type.EmptyTypes) is null)
            throw new InvalidInputException($"grade: {typeName} needs a constructor without parameters");
        if (kind == "softmax_cross_entropy") throw new InvalidInputException("grade: losses are graded from Python files only");
        return (kind, name);
    }

    private static bool IsLayer(Type t) => !t.IsAbstract && t.BaseType is not null && t.BaseType.Name.StartsWith("Layer",
        StringComparison.Ordinal)
        || t.BaseType?.Name.StartsWith("ActivationLayer", StringComparison.Ordinal) == true;

    private static IEnumerable<Type> SafeTypes(Assembly asm)
    {
        try { return asm.GetTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(x => x is not null)!; }
    }

    /// <summary>The results in the harness's JSON form, one per case run before the time limit.</summary>
    public static PythonRun Run(Type type, IReadOnlyList<Case> cases, TimeSpan timeout)
    {
        var results = new List<CaseResult>();
        var worker = new Thread(() =>
        {
            foreach (var c in cases)
            {
                var r = RunCase(type, c);
                lock (results) results.Add(new CaseResult(r, null));
            }
        })
        { IsBackground = true, Name = "grade" };
        worker.Start();
        bool done = worker.Join(timeout);
        lock (results) return new PythonRun(null, [.. results], !done, 0, "", "in-process");
    }

    private static JsonElement RunCase(Type type, Case c)
    {
        string json = Json.Render(w =>
        {
            w.WriteStartObject();
            try
            {
                Tensor<double> T(string n) => new(c.Inputs[n].Data.ToArray(), c.Inputs[n].Shape);
                var layer = (Layer<double>)(c.Inputs.ContainsKey("W")
                    ? Activator.CreateInstance(type, T("W"), T("b"))!
                    : Activator.CreateInstance(type)!);
                var dout = T("dout");
                var y = layer.Forward(T("x"));
                Write(w, "y", y?.Clone());
                var dx = layer.Backward(dout);
                Write(w, "dx", dx?.Clone());
                w.WriteBoolean("dout_modified", !dout.Span.SequenceEqual(c.Inputs["dout"].Data));
                if (c.Inputs.ContainsKey("W"))
                {
                    Write(w, "dW", layer.Parameters.FirstOrDefault(p => p.Name == "W")?.Grad);
                    Write(w, "db", layer.Parameters.FirstOrDefault(p => p.Name == "b")?.Grad);
                }
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                w.WriteString("error", $"{inner.GetType().FullName}: {inner.Message}\n{inner.StackTrace}");
            }
            w.WriteEndObject();
        });
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter w, string name, Tensor<double>? t)
    {
        if (t is not null)
        {
            Array64.Of(t).Write(w, name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteString("type", "null");
        w.WriteEndObject();
    }
}
