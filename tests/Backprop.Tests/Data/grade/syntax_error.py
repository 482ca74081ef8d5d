# Cannot be loaded: a syntax error.
class Affine:
    def forward(self, x)
        return x
