using System.Diagnostics;
var p = Process.GetProcessById(14342);
p.Kill();
Console.WriteLine("killed? " + p.HasExited);
