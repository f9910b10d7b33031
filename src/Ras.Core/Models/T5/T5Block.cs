using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.T5;

/// <summary>
/// One T5 encoder block: <c>layer.0</c> = pre-norm self-attention (no 1/√d scaling, additive position bias),
/// <c>layer.1</c> = pre-norm gated-GELU feed-forward. Mirrors transformers <c>T5Block</c>,
/// <c>T5LayerSelfAttention</c>, <c>T5Attention</c>, <c>T5LayerFF</c>, <c>T5DenseGatedActDense</c>.
/// </summary>
internal sealed class T5Block : nn.Module
{
    private readonly ModuleList<nn.Module> layer;

    public T5Block(T5Config config, bool hasRelativeBias)
        : base(nameof(T5Block))
    {
        layer = nn.ModuleList<nn.Module>(new T5LayerSelfAttention(config, hasRelativeBias), new T5LayerFF(config));
        RegisterComponents();
    }

    /// <summary><c>[1, heads, S, S]</c> bias from this block's relative-attention table (block 0 only).</summary>
    public Tensor PositionBias(long length, Device device) => ((T5LayerSelfAttention)layer[0]).PositionBias(length, device);

    public Tensor Forward(Tensor x, Tensor scoresBias)
    {
        using Tensor attended = ((T5LayerSelfAttention)layer[0]).Forward(x, scoresBias);
        return ((T5LayerFF)layer[1]).forward(attended);
    }

    private sealed class T5LayerSelfAttention : nn.Module
    {
        private readonly T5Attention SelfAttention;
        private readonly T5LayerNorm layer_norm;

        public T5LayerSelfAttention(T5Config config, bool hasRelativeBias)
            : base(nameof(T5LayerSelfAttention))
        {
            SelfAttention = new T5Attention(config, hasRelativeBias);
            layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon);
            RegisterComponents();
        }

        public Tensor PositionBias(long length, Device device) => SelfAttention.PositionBias(length, device);

        public Tensor Forward(Tensor x, Tensor scoresBias)
        {
            using Tensor normed = layer_norm.forward(x);
            using Tensor update = SelfAttention.Forward(normed, scoresBias);
            return x.add(update);
        }
    }

    private sealed class T5Attention : nn.Module
    {
        private readonly Linear q;
        private readonly Linear k;
        private readonly Linear v;
        private readonly Linear o;
        private readonly Embedding? relative_attention_bias;
        private readonly int heads;
        private readonly int buckets;
        private readonly int maxDistance;

        public T5Attention(T5Config config, bool hasRelativeBias)
            : base(nameof(T5Attention))
        {
            heads = config.NumHeads;
            buckets = config.RelativeAttentionNumBuckets;
            maxDistance = config.RelativeAttentionMaxDistance;
            int inner = config.NumHeads * config.DKv;
            q = nn.Linear(config.DModel, inner, hasBias: false, device: ModuleConstruction.Device);
            k = nn.Linear(config.DModel, inner, hasBias: false, device: ModuleConstruction.Device);
            v = nn.Linear(config.DModel, inner, hasBias: false, device: ModuleConstruction.Device);
            o = nn.Linear(inner, config.DModel, hasBias: false, device: ModuleConstruction.Device);
            if (hasRelativeBias)
            {
                relative_attention_bias = nn.Embedding(config.RelativeAttentionNumBuckets, config.NumHeads, device: ModuleConstruction.Device);
            }

            RegisterComponents();
        }

        public Tensor PositionBias(long length, Device device)
        {
            if (relative_attention_bias is null)
            {
                throw new InvalidOperationException("only block 0 has a relative attention bias table");
            }

            var bucketIds = new long[length * length];
            for (long i = 0; i < length; i++)
            {
                for (long j = 0; j < length; j++)
                {
                    bucketIds[(i * length) + j] = T5RelativePosition.Bucket((int)(j - i), buckets, maxDistance);
                }
            }

            using Tensor ids = tensor(bucketIds, [length, length]).to(device);
            using Tensor values = relative_attention_bias.forward(ids);          // [S, S, H]
            return values.permute(2, 0, 1).unsqueeze(0);                         // [1, H, S, S]
        }

        public Tensor Forward(Tensor x, Tensor scoresBias)
        {
            long batch = x.shape[0];
            long length = x.shape[1];
            Tensor Heads(Tensor t) => t.view(batch, length, heads, -1).transpose(1, 2);      // [B, H, S, Dk]
            using Tensor qh = Heads(q.forward(x));
            using Tensor kh = Heads(k.forward(x));
            using Tensor vh = Heads(v.forward(x));

            // No 1/√d_kv: T5 folds it into the weights. Softmax in float32, as transformers computes it.
            using Tensor scores = qh.matmul(kh.transpose(2, 3)).add(scoresBias);
            using Tensor weights = scores.to_type(ScalarType.Float32).softmax(-1).to_type(scores.dtype);
            using Tensor context = weights.matmul(vh);                                   // [B, H, S, Dk]
            using Tensor merged = context.transpose(1, 2).reshape(batch, length, -1);
            return o.forward(merged);
        }
    }

    private sealed class T5LayerFF : nn.Module<Tensor, Tensor>
    {
        private readonly T5DenseGatedActDense DenseReluDense;
        private readonly T5LayerNorm layer_norm;

        public T5LayerFF(T5Config config)
            : base(nameof(T5LayerFF))
        {
            DenseReluDense = new T5DenseGatedActDense(config);
            layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using Tensor normed = layer_norm.forward(x);
            using Tensor update = DenseReluDense.forward(normed);
            return x.add(update);
        }
    }

    /// <summary><c>wo(gelu_tanh(wi_0·h) * (wi_1·h))</c>.</summary>
    private sealed class T5DenseGatedActDense : nn.Module<Tensor, Tensor>
    {
        private readonly Linear wi_0;
        private readonly Linear wi_1;
        private readonly Linear wo;

        public T5DenseGatedActDense(T5Config config)
            : base(nameof(T5DenseGatedActDense))
        {
            wi_0 = nn.Linear(config.DModel, config.DFf, hasBias: false, device: ModuleConstruction.Device);
            wi_1 = nn.Linear(config.DModel, config.DFf, hasBias: false, device: ModuleConstruction.Device);
            wo = nn.Linear(config.DFf, config.DModel, hasBias: false, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor h)
        {
            using Tensor gateInput = wi_0.forward(h);
            using Tensor gate = nn.functional.gelu(gateInput, GELU.Approximate.tanh);
            using Tensor linear = wi_1.forward(h);
            using Tensor product = gate.mul(linear);
            return wo.forward(product);
        }
    }
}
