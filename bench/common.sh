# Sourced by the bench scripts: builds the Release CLI and makes a temp folder removed on exit.
# Sets: here (the repository), fixtures (../shared/fixtures unless RAS_FIXTURES), ras (the built CLI), work (the temp folder).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures=${RAS_FIXTURES:-$here/../shared/fixtures}
dotnet build "$here/src/Ras.Cli" -c Release -v q -nologo >/dev/null
ras="$here/src/Ras.Cli/bin/Release/net10.0/ras"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
