namespace Backprop.Tests;

[CollectionDefinition("Global kernel settings", DisableParallelization = true)]
public class GlobalKernelSettingsCollection;
