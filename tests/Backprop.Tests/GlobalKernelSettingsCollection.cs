using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests;

[CollectionDefinition("Global kernel settings", DisableParallelization = true)]
public class GlobalKernelSettingsCollection;
