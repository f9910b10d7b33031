using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// Builds a module without running its random initialisation, for a loader that overwrites every weight anyway: the
/// constructor runs with its weights on libtorch's meta device (<see cref="ModuleConstruction.Device"/>: shapes and dtypes
/// only, no memory, no random draws; initialisers do nothing there), then every parameter and buffer gets uninitialised
/// CPU storage of the same shape and dtype. For a full-size model this removes the tens of seconds
/// <c>kaiming_uniform_</c> and friends spend on values that are discarded (README "Load time").
/// </summary>
/// <remarks>
/// The storage is <c>empty</c>, so the caller must fill every tensor of the state dict, as the strict
/// <see cref="StateDictBinder"/> does (it refuses a checkpoint that misses any key). Tensors are swapped the way
/// TorchSharp's own <c>Module.to</c> does it: the field holding the tensor and the module's registration under its
/// component name; a tensor shared by several modules stays shared.
/// </remarks>
public static class UninitializedModules
{
    private static readonly MethodInfo RegisterParameter = Registration("ConditionallyRegisterParameter");

    private static readonly MethodInfo RegisterBuffer = Registration("ConditionallyRegisterBuffer");

    /// <summary>
    /// Runs <paramref name="construct"/> with weights on the meta device and gives the result uninitialised CPU storage
    /// (see the type's remarks: every state-dict tensor must then be filled), floating-point tensors in
    /// <paramref name="floatDtype"/> when given (half-precision storage: never a float32 copy). Tensors a constructor computes
    /// itself (SD3's sin-cos <c>pos_embed</c>) are built on the CPU as usual and kept as they are. The process-wide default
    /// dtype is never touched, so other threads building models meanwhile are not affected.
    /// </summary>
    public static T Construct<T>(Func<T> construct, ScalarType? floatDtype = null)
        where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(construct);
        T model;
        using (ModuleConstruction.On(META))
        {
            model = construct();
        }

        try
        {
            Materialize(model, floatDtype);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces every meta tensor of <paramref name="model"/> (parameters and buffers) by uninitialised CPU storage, floating-point
    /// ones in <paramref name="floatDtype"/> when given.
    /// </summary>
    public static void Materialize(nn.Module model, ScalarType? floatDtype = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var replaced = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var modules = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { model };
        foreach (var (_, module) in model.named_modules())
        {
            modules.Add(module);
        }

        using var noGrad = no_grad();
        foreach (nn.Module module in modules)
        {
            // Native-backed TorchSharp modules (nn.Embedding) compute with the weight their setter hands to libtorch: set
            // a public property of the component's name when there is one; then fields (our modules' own view of their
            // weights); then the registry that state_dict() and parameters() read.
            foreach (var (name, parameter) in module.named_parameters(recurse: false).ToList())
            {
                if (parameter.device_type == DeviceType.META && module.GetType().GetProperty(name, BindingFlags.Instance | BindingFlags.Public) is { CanWrite: true } property
                    && property.PropertyType.IsAssignableFrom(typeof(Parameter)))
                {
                    property.SetValue(module, Replacement(parameter, replaced, floatDtype));
                }
            }

            for (Type? type = module.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
            {
                foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.GetValue(module) is Tensor { device_type: DeviceType.META } tensor)
                    {
                        field.SetValue(module, Replacement(tensor, replaced, floatDtype));
                    }
                }
            }

            foreach (var (name, parameter) in module.named_parameters(recurse: false).ToList())
            {
                if (parameter.device_type == DeviceType.META)
                {
                    Register(RegisterParameter, module, name, Replacement(parameter, replaced, floatDtype));
                }
            }

            foreach (var (name, buffer) in module.named_buffers(recurse: false).ToList())
            {
                if (buffer.device_type == DeviceType.META)
                {
                    Register(RegisterBuffer, module, name, Replacement(buffer, replaced, floatDtype));
                }
            }
        }

        foreach (Tensor meta in replaced.Keys)
        {
            meta.Dispose();
        }
    }

    // TorchSharp's own re-registration (what Module.to uses): (name, tensor[, optional flags such as persistent]).
    private static MethodInfo Registration(string name) =>
        typeof(nn.Module).GetMethods(BindingFlags.Instance | BindingFlags.NonPublic)
            .Where(m => m.Name == name && m.GetParameters() is [{ ParameterType: var n }, { ParameterType: var t }, ..] rest
                && n == typeof(string) && t == typeof(Tensor) && rest.Skip(2).All(p => p.HasDefaultValue))
            .MinBy(m => m.GetParameters().Length)
        ?? throw new MissingMethodException(nameof(nn.Module), name);

    private static void Register(MethodInfo registration, nn.Module module, string name, Tensor tensor)
    {
        object?[] arguments = [name, tensor, .. registration.GetParameters().Skip(2).Select(p => p.DefaultValue)];
        registration.Invoke(module, arguments);
    }

    private static Tensor Replacement(Tensor meta, Dictionary<Tensor, Tensor> replaced, ScalarType? floatDtype)
    {
        if (replaced.TryGetValue(meta, out Tensor? done))
        {
            return done;
        }

        Tensor storage = empty(meta.shape, floatDtype is ScalarType dtype && meta.is_floating_point() ? dtype : meta.dtype, CPU);
        Tensor result = meta is Parameter parameter ? new Parameter(storage, parameter.requires_grad) : storage;
        result.DetachFromDisposeScope();
        replaced[meta] = result;
        return result;
    }
}
