namespace Ras.RegionAdaptive;

/// <summary>What the model does in one step of a RAS run.</summary>
public enum RasStepKind
{
    /// <summary>Every token computed; no RAS state touched.</summary>
    Dense,

    /// <summary>Every token computed and every layer's K/V cache (re)filled: the next step is a RAS step.</summary>
    DenseFill,

    /// <summary>Only the selected tokens computed; the rest reuse cached velocity and K/V.</summary>
    Sparse,
}
