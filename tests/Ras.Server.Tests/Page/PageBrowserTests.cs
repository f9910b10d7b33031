using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Page;

/// <summary>
/// The web page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium WebDriver; no browser is
/// downloaded): generate with RAS on, find the image, its heatmap and its infotext, and a console with no errors at all.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PageBrowserTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Prompt = "a large yellow star at the center on a purple background";

    /// <summary>Where screenshots go: $RAS_TEST_ARTIFACTS, else TestResults/ beside the test binaries.</summary>
    private static string ArtifactFolder => Directory.CreateDirectory(Environment.GetEnvironmentVariable("RAS_TEST_ARTIFACTS")
        ?? Path.Combine(AppContext.BaseDirectory, "TestResults")).FullName;

    private static Browser StartBrowser()
    {
        (string browser, string driver) = ExternalTools.ChromiumPaths;
        DirectoryInfo profile = Directory.CreateTempSubdirectory("ras-chromium-");
        var options = new ChromeOptions { BinaryLocation = browser };
        // Flags that work on this kind of machine (no network beyond loopback, root, no GPU).
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
            $"--user-data-dir={profile.FullName}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        ChromeDriverService service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driver)!, Path.GetFileName(driver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        return new Browser(new ChromeDriver(service, options, TimeSpan.FromMinutes(2)), profile);
    }

    /// <summary>A headless Chromium and its throwaway profile folder, removed when the browser quits.</summary>
    private sealed class Browser(ChromeDriver page, DirectoryInfo profile) : IDisposable
    {
        public ChromeDriver Page { get; } = page;

        public void Dispose()
        {
            Page.Quit();
            Page.Dispose();
            profile.Refresh();
            if (profile.Exists)
            {
                profile.Delete(recursive: true);
            }
        }
    }

    private static IWebElement RasCheckbox(IWebDriver page)
    {
        IWebElement label = page.FindElements(By.TagName("label")).Single(l => l.Text.Trim() == "RAS");
        return page.FindElement(By.Id(label.GetAttribute("for")!));
    }

    private List<string> ConsoleErrors(IWebDriver page)
    {
        var entries = page.Manage().Logs.GetLog(LogType.Browser).ToList();
        foreach (LogEntry entry in entries)
        {
            output.WriteLine($"console {entry.Level}: {entry.Message}");
        }

        return entries.Where(e => e.Level >= LogLevel.Severe).Select(e => e.Message).ToList();
    }

    [Fact]
    public async Task Generates_with_ras_and_shows_image_heatmap_and_infotext_with_a_clean_console()
    {
        await using TestServer server = await TestServer.StartAsync();
        using Browser browser = StartBrowser();
        ChromeDriver page = browser.Page;
        var wait = new WebDriverWait(page, TimeSpan.FromSeconds(60));
        page.Navigate().GoToUrl(server.Address);
        wait.Until(p => p.FindElement(By.Id("status")).Text == "Ready");

        IWebElement prompt = page.FindElements(By.TagName("textarea"))[0];
        prompt.Clear();
        prompt.SendKeys(Prompt);
        IWebElement steps = page.FindElement(By.Id("steps"));
        steps.Clear();
        steps.SendKeys("8");
        IWebElement seed = page.FindElement(By.Id("seed"));
        seed.Clear();
        seed.SendKeys("1");
        IWebElement ras = RasCheckbox(page);
        Assert.Equal("checkbox", ras.GetAttribute("type"));
        if (!ras.Selected)
        {
            ras.Click();
        }

        page.FindElements(By.TagName("button")).Single(b => b.Text.Contains("Generate", StringComparison.Ordinal)).Click();
        IWebElement figure = wait.Until(p => p.FindElements(By.CssSelector("#gallery figure")).FirstOrDefault());

        // The image is the API's PNG as it came: a data: URI of the bytes, whose text chunk is the infotext shown beside it.
        IWebElement image = figure.FindElements(By.TagName("img")).First(i => !(i.GetAttribute("alt") ?? string.Empty).Contains("heatmap", StringComparison.Ordinal));
        string source = image.GetAttribute("src")!;
        Assert.StartsWith("data:image/png;base64,", source, StringComparison.Ordinal);
        byte[] png = Convert.FromBase64String(source["data:image/png;base64,".Length..]);
        Png.Decode(png, 64, 64);
        string infotext = figure.FindElement(By.CssSelector("pre.infotext")).Text;
        Assert.Equal(Png.Parameters(png), infotext);
        Assert.Contains("RAS sample ratio: 0.5", infotext, StringComparison.Ordinal);
        Txt2Img same = await server.Txt2ImgAsync(new { prompt = Prompt, steps = 8, seed = 1, alwayson_scripts = new { RAS = new { args = new object[] { true, 0.5 } } } });
        Assert.Equal(same.Images[0], png);

        IWebElement heatmap = figure.FindElements(By.TagName("img")).Single(i => (i.GetAttribute("alt") ?? string.Empty).Contains("heatmap", StringComparison.Ordinal));
        Png.Decode(Convert.FromBase64String(heatmap.GetAttribute("src")!["data:image/png;base64,".Length..]), 256, 256);

        string shot = Path.Combine(ArtifactFolder, "page-generate-ras.png");
        page.GetScreenshot().SaveAsFile(shot);
        output.WriteLine($"screenshot: {shot}");
        if (Environment.GetEnvironmentVariable("RAS_UPDATE_README_SCREENSHOT") == "1")
        {
            File.Copy(shot, Path.Combine(ExternalTools.RepositoryRoot, "docs", "images", "server-page.png"), overwrite: true);
        }

        // Settings persist in the browser.
        page.Navigate().Refresh();
        wait.Until(p => p.FindElement(By.Id("status")).Text == "Ready");
        Assert.Equal(Prompt, page.FindElements(By.TagName("textarea"))[0].GetAttribute("value"));
        Assert.Equal("8", page.FindElement(By.Id("steps")).GetAttribute("value"));

        Assert.Empty(ConsoleErrors(page));
    }

    [Fact]
    public async Task Under_api_auth_the_page_asks_for_the_credentials()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { ApiAuth = "alice:secret" });
        using Browser browser = StartBrowser();
        ChromeDriver page = browser.Page;
        var wait = new WebDriverWait(page, TimeSpan.FromSeconds(60));
        page.Navigate().GoToUrl(server.Address);
        IWebElement dialog = wait.Until(p => p.FindElement(By.Id("login")) is { Displayed: true } d ? d : null);
        dialog.FindElement(By.Id("user")).SendKeys("alice");
        dialog.FindElement(By.Id("password")).SendKeys("secret");
        dialog.FindElement(By.Id("login-button")).Click();
        wait.Until(p => p.FindElement(By.Id("status")).Text == "Ready");
        Assert.StartsWith("ras-shapes [", (string)page.ExecuteScript("return document.getElementById('model').selectedOptions[0].text;")!, StringComparison.Ordinal);
        Assert.Empty(ConsoleErrors(page));
    }
}

/// <summary>Browser tests run one at a time (two Chromiums on two cores only slow each other down).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection
{
    public const string Name = "browser";
}
