using System.Buffers.Binary;
using System.Text;

namespace Ras.Native;

/// <summary>Outcome of <see cref="ElfVersionPatcher.MarkVersionWeak"/>.</summary>
internal enum ElfPatchResult
{
    /// <summary>The requirement was found and its flag set.</summary>
    Patched,

    /// <summary>The requirement was already weak; nothing changed.</summary>
    AlreadyWeak,

    /// <summary>The file does not require that version.</summary>
    NotRequired,
}

/// <summary>
/// Marks one symbol-version requirement of an ELF64 little-endian shared object as weak
/// (<c>VER_FLG_WEAK</c> in <c>.gnu.version_r</c>), so the dynamic loader accepts a library that
/// lacks that version instead of refusing to load. Pure byte manipulation, no I/O.
/// </summary>
internal static class ElfVersionPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Sets <c>VER_FLG_WEAK</c> on every <c>Vernaux</c> entry named <paramref name="versionName"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed ELF64 little-endian object.</exception>
    public static ElfPatchResult MarkVersionWeak(Span<byte> elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("only ELF64 little-endian objects are supported");
        }

        ulong sectionTableOffset = ReadU64(elf, 0x28);
        ushort sectionEntrySize = ReadU16(elf, 0x3A);
        ushort sectionCount = ReadU16(elf, 0x3C);
        if (sectionEntrySize < 64 || sectionTableOffset + ((ulong)sectionCount * sectionEntrySize) > (ulong)elf.Length)
        {
            throw new InvalidDataException("section header table lies outside the file");
        }

        byte[] wanted = Encoding.ASCII.GetBytes(versionName);
        bool sawWeak = false;
        bool patched = false;
        for (int s = 0; s < sectionCount; s++)
        {
            int header = checked((int)sectionTableOffset + (s * sectionEntrySize));
            if (ReadU32(elf, header + 4) != ShtGnuVerneed)
            {
                continue;
            }

            // Elf64_Shdr: sh_offset @0x18, sh_size @0x20, sh_link @0x28 (the string table), sh_info @0x2C (entry count).
            int verneedStart = checked((int)ReadU64(elf, header + 0x18));
            int verneedSize = checked((int)ReadU64(elf, header + 0x20));
            int stringSection = (int)ReadU32(elf, header + 0x28);
            int entryCount = (int)ReadU32(elf, header + 0x2C);
            if (stringSection >= sectionCount || verneedStart + verneedSize > elf.Length)
            {
                throw new InvalidDataException(".gnu.version_r lies outside the file");
            }

            int stringsHeader = checked((int)sectionTableOffset + (stringSection * sectionEntrySize));
            int strings = checked((int)ReadU64(elf, stringsHeader + 0x18));
            int stringsSize = checked((int)ReadU64(elf, stringsHeader + 0x20));

            int need = verneedStart;
            for (int n = 0; n < entryCount; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
                ushort auxCount = ReadU16(elf, need + 2);
                int aux = need + (int)ReadU32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                    int nameOffset = (int)ReadU32(elf, aux + 8);
                    if (NameEquals(elf.Slice(strings, stringsSize), nameOffset, wanted))
                    {
                        ushort flags = ReadU16(elf, aux + 4);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            sawWeak = true;
                        }
                        else
                        {
                            BinaryPrimitives.WriteUInt16LittleEndian(elf[(aux + 4)..], (ushort)(flags | VerFlgWeak));
                            patched = true;
                        }
                    }

                    uint nextAux = ReadU32(elf, aux + 12);
                    if (nextAux == 0)
                    {
                        break;
                    }

                    aux += (int)nextAux;
                }

                uint nextNeed = ReadU32(elf, need + 12);
                if (nextNeed == 0)
                {
                    break;
                }

                need += (int)nextNeed;
            }
        }

        return patched ? ElfPatchResult.Patched : sawWeak ? ElfPatchResult.AlreadyWeak : ElfPatchResult.NotRequired;
    }

    /// <summary>The <c>DT_NEEDED</c> entries (sonames of direct dependencies) of an ELF64 little-endian object.</summary>
    public static IReadOnlyList<string> NeededLibraries(ReadOnlySpan<byte> elf)
    {
        const uint shtDynamic = 6;
        const long dtNeeded = 1;
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not an ELF64 little-endian file");
        }

        ulong sectionTableOffset = ReadU64(elf, 0x28);
        ushort sectionEntrySize = ReadU16(elf, 0x3A);
        ushort sectionCount = ReadU16(elf, 0x3C);
        var needed = new List<string>();
        for (int s = 0; s < sectionCount; s++)
        {
            int header = checked((int)sectionTableOffset + (s * sectionEntrySize));
            if (ReadU32(elf, header + 4) != shtDynamic)
            {
                continue;
            }

            int start = checked((int)ReadU64(elf, header + 0x18));
            int size = checked((int)ReadU64(elf, header + 0x20));
            int stringsHeader = checked((int)sectionTableOffset + ((int)ReadU32(elf, header + 0x28) * sectionEntrySize));
            int strings = checked((int)ReadU64(elf, stringsHeader + 0x18));
            for (int entry = start; entry + 16 <= start + size; entry += 16)
            {
                // Elf64_Dyn: d_tag i64, d_val u64.
                if ((long)ReadU64(elf, entry) == dtNeeded)
                {
                    int name = strings + (int)ReadU64(elf, entry + 8);
                    int end = elf[name..].IndexOf((byte)0);
                    needed.Add(Encoding.ASCII.GetString(elf.Slice(name, end)));
                }
            }
        }

        return needed;
    }

    private static bool NameEquals(ReadOnlySpan<byte> strings, int offset, ReadOnlySpan<byte> wanted)
    {
        if (offset < 0 || offset + wanted.Length >= strings.Length)
        {
            return false;
        }

        return strings.Slice(offset, wanted.Length).SequenceEqual(wanted) && strings[offset + wanted.Length] == 0;
    }

    private static ushort ReadU16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

    private static uint ReadU32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ulong ReadU64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
}
