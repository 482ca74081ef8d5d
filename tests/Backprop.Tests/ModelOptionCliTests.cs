namespace Backprop.Tests;

public class ModelOptionCliTests
{
    [Fact]
    public void Train_model_trains_a_named_convolutional_network_and_resumes_it()
    {
        string data = ResumeCliTests.IdxFolder(60, 4, side: 28);
        string dir = Directory.CreateTempSubdirectory("bp-cnn-").FullName;
        try
        {
            string model = Path.Combine(dir, "cnn.safetensors");
            var (code, stdout, err) = TestUtil.Cli("", "train", "--model", "simple_convnet", "--data", data, "--epochs", "1", "--batch",
                "20",
                "--optimizer", "adam", "--lr", "0.001", "--out", model, "--json");
            Assert.True(code == 0, err);
            Assert.Contains("train_loss", stdout);
            var d = Backprop.Models.ModelFile.Read(model).Description;
            Assert.Equal(Backprop.Models.Architectures.SimpleConvNet(), d);
            var (c2, more, e2) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "2", "--json");
            Assert.True(c2 == 0, e2);
            Assert.Contains("\"epoch\":2", more);
            var (c3, _, e3) = TestUtil.Cli("", "train", "--resume", model, "--model", "deep_convnet");
            Assert.Equal(2, c3);
            Assert.Contains("cannot be given with --resume", e3);
            var (c4, _, e4) = TestUtil.Cli("", "train", "--model", "simple_convnet", "--layers", "784,10");
            Assert.Equal(2, c4);
            Assert.Contains("--layers describes an MLP", e4);
        }
        finally
        {
            Directory.Delete(dir, true);
            Directory.Delete(data, true);
        }
    }
}
