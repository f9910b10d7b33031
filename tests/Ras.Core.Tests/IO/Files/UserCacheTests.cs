using Ras.IO.Files;

namespace Ras.Tests.IO.Files;

public sealed class UserCacheTests
{
    private static Func<string, string?> Environment(string? xdg) => name => name == "XDG_CACHE_HOME" ? xdg : null;

    [Fact]
    public void Xdg_cache_home_comes_first_then_home_then_the_temp_folder()
    {
        Assert.Equal("/x/cache/ras", UserCache.RootFor(Environment("/x/cache"), "/home/u"));
        Assert.Equal("/home/u/.cache/ras", UserCache.RootFor(Environment(null), "/home/u"));
        Assert.Equal("/home/u/.cache/ras", UserCache.RootFor(Environment(""), "/home/u"));
        Assert.Equal("/home/u/.cache/ras", UserCache.RootFor(Environment("relative/cache"), "/home/u"));   // XDG: relative paths are ignored
        Assert.Equal(UserCache.TempRoot, UserCache.RootFor(Environment(null), ""));
        Assert.Equal(UserCache.TempRoot, UserCache.Roots[^1]);
    }
}
