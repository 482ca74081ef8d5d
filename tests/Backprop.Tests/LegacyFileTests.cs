namespace Backprop.Tests;

/// <summary>
/// A checkpoint written by the version before self-describing models (format backprop-mlp-1: `backprop train --layers
/// 2,8,3 --activation tanh --batch-norm --dropout 0.1 --epochs 2 --seed 3 --out legacy-mlp-1.safetensors` at 5c535e2).
/// </summary>
public class LegacyFileTests
{
    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Data", "legacy-mlp-1.safetensors");

    [Fact]
    public void A_file_of_the_earlier_format_loads_as_the_mlp_it_describes()
    {
        var contents = Backprop.Models.ModelFile.Read(Fixture);
        Assert.True(contents.Legacy);
        var expected = new Backprop.Models.MlpSpec { Sizes = [2, 8, 3], Activation = "tanh", BatchNorm = true, Dropout = 0.1 }.Describe();
        Assert.Equal(expected, contents.Description);
        var net = Backprop.Models.ModelFile.Load<float>(Fixture);
        Assert.Equal(["fully_connected", "batch_norm", "tanh", "dropout", "fully_connected"], net.Layers.Select(l => l.Kind));
        var trainer = Backprop.Training.Trainer<float>.LoadCheckpoint(Fixture);
        Assert.Equal(2, trainer.Epoch);
        Assert.Equal(48, trainer.Optimizer.Steps);
        Assert.Equal(Backprop.Optimizers.OptimizerKind.Adam, trainer.Optimizer.Kind);
        Assert.Equal(30, trainer.Options.Batch);
    }

    [Fact]
    public void The_earlier_format_evaluates_as_it_did_and_resumes()
    {
        // The old version reported test accuracy 0.6 and loss 0.74806 after its second epoch.
        var (code, json, err) = TestUtil.Cli("", "eval", "--model", Fixture, "--json");
        Assert.True(code == 0, err);
        var e = System.Text.Json.JsonDocument.Parse(json).RootElement;
        Assert.Equal(0.6, e.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(0.7480636835098267, e.GetProperty("loss").GetDouble(), 4);

        string copy = Path.Combine(Path.GetTempPath(), $"bp-legacy-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.Copy(Fixture, copy);
            var (c2, more, e2) = TestUtil.Cli("", "train", "--resume", copy, "--epochs", "3", "--json", "--out", copy);
            Assert.True(c2 == 0, e2);
            Assert.Equal(3, System.Text.Json.JsonDocument.Parse(more.Trim()).RootElement.GetProperty("epoch").GetInt32());
            Assert.False(Backprop.Models.ModelFile.Read(copy).Legacy);   // saved again in the current format
        }
        finally { File.Delete(copy); }
    }
}
