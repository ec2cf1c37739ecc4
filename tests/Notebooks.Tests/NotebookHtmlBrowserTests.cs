using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Notebooks;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// The static pages' math, typeset in a real browser: headless Chromium, cut off from the network, so that a page that
/// needed a CDN would show TeX source here. And a Traditional Chinese page drawn in a Traditional Chinese font. Needs a
/// <c>chromium</c> on PATH (<c>apt-get install -y chromium</c>) and, for the fonts, Noto Sans CJK
/// (<c>apt-get install -y fonts-noto-cjk</c>); without them the tests pass with a note, except in CI (CI=true), where
/// they fail.
/// </summary>
public class NotebookHtmlBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public void Notebook_02s_math_is_typeset_by_katex_offline()
    {
        string html = NotebookHtml.Render(File.ReadAllText(Path.Combine(NotebookFiles.Directory, "02-temperature.ipynb")), "02-temperature", plotlyJs: null);
        int math = Regex.Matches(html, "class=\"math\"").Count;
        Assert.True(math > 20, $"notebook 02 should have plenty of math; the page has {math} math elements");

        if (DumpDom(html) is not { } dom) return;
        int typeset = Regex.Matches(dom, "class=\"katex\"").Count;
        int errors = Regex.Matches(dom, "class=\"katex-error\"").Count;
        output.WriteLine($"{math} math elements, {typeset} typeset by KaTeX, {errors} KaTeX errors");
        Assert.Equal(0, errors);
        Assert.Equal(math, typeset);
        Assert.Equal(Regex.Matches(html, "class=\"math\">\\\\\\[").Count, Regex.Matches(dom, "class=\"katex-display\"").Count);
    }

    [Fact]
    public void Tex_that_katex_cannot_parse_still_shows_as_its_source()
    {
        var notebook = new JsonObject
        {
            ["cells"] = new JsonArray(new JsonObject
            {
                ["cell_type"] = "markdown",
                ["metadata"] = new JsonObject(),
                ["source"] = "Fine $x^2$; a parse error $x^^2$; unbalanced braces $\\frac{a}{b$; an unknown macro $\\nosuchmacro{y}$.",
            }),
            ["metadata"] = new JsonObject(),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        if (DumpDom(NotebookHtml.Render(notebook.ToJsonString(), "broken math", plotlyJs: null)) is not { } dom) return;
        // throwOnError: false. A parse error shows the source in red, with the error as its tooltip ...
        Assert.Matches("<span class=\"katex-error\" title=\"ParseError: [^\"]*\"[^>]*>x\\^\\^2</span>", dom);
        // ... auto-render leaves math with unbalanced braces as it is ...
        Assert.Contains("<span class=\"math\">\\(\\frac{a}{b\\)</span>", dom);
        // ... an unknown macro is typeset, its name in red; and the math after an error is typeset too.
        Assert.Equal(2, Regex.Matches(dom, "class=\"katex\"").Count);
        Assert.Contains(">\\nosuchmacro</span>", dom);
    }

    /// <summary>
    /// A zh-TW page in the browser: its Chinese text is in the rendered DOM (UTF-8 read as such), the page says it is
    /// zh-Hant-TW, the body's font stack as the browser parsed it names the Chinese fonts, and the Chinese of the title is
    /// drawn in one of them (Noto Sans CJK TC here, on Linux). Chromium reports the fonts it drew a node's text with over
    /// its DevTools protocol.
    /// </summary>
    [Fact]
    public void A_zh_TW_page_shows_its_chinese_in_a_traditional_chinese_font()
    {
        string notebook = File.ReadAllText(Path.Combine(NotebookEditions.TraditionalChinese.Directory(NotebookFiles.RepoRoot), "01-soft-and-hard-labels.ipynb"));
        string html = NotebookHtml.Render(notebook, "01-soft-and-hard-labels", plotlyJs: null, NotebookEditions.TraditionalChinese);
        string title = Regex.Match(html, "<h1>([^<]*)</h1>").Groups[1].Value;
        Assert.Contains("軟標籤與硬標籤", title);

        if (DumpDom(html) is not { } dom) return;
        Assert.Contains("<html lang=\"zh-Hant-TW\">", dom);
        Assert.Contains($"<h1>{title}</h1>", dom);
        Assert.Contains("暗知識", dom);

        if (!ChineseFontInstalled()) return;
        var (family, fonts) = Fonts(html, "h1");
        output.WriteLine($"h1 font-family: {family}");
        output.WriteLine("drawn with: " + string.Join(", ", fonts.Select(f => $"{f.Family} ({f.Glyphs} glyphs)")));
        foreach (var font in ChineseFonts) Assert.Contains($"\"{font}\"", family);
        AssertDrawnInChinese(title, fonts);
    }

    static readonly string[] ChineseFonts = ["Microsoft JhengHei", "PingFang TC", "Noto Sans CJK TC", "Noto Sans TC"];

    /// <summary>
    /// An English page (<c>lang="en"</c>) that quotes Chinese, in its prose and in a text output as a zh-TW check prints
    /// it: the font stacks alone choose the Chinese font there. Without them Chromium falls back to the system's first CJK
    /// font, which on Linux with Noto CJK is the Japanese one (other shapes for some characters).
    /// </summary>
    [Fact]
    public void Chinese_on_an_english_page_is_drawn_in_a_traditional_chinese_font_too()
    {
        var notebook = new JsonObject
        {
            ["cells"] = new JsonArray(
                new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "# 總結與練習" },
                new JsonObject
                {
                    ["cell_type"] = "code", ["metadata"] = new JsonObject(), ["execution_count"] = 1, ["source"] = "Check()",
                    ["outputs"] = new JsonArray(new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = "尚未作答：請寫出你的答案。" }),
                }),
            ["metadata"] = new JsonObject(),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        string html = NotebookHtml.Render(notebook.ToJsonString(), "quotes Chinese", plotlyJs: null);
        Assert.Contains("<html lang=\"en\">", html);
        if (!ChromiumInstalled() || !ChineseFontInstalled()) return;
        foreach (var (selector, text) in new[] { ("h1", "總結與練習"), ("pre.nb-output", "尚未作答：請寫出你的答案。") })
        {
            var (family, fonts) = Fonts(html, selector);
            output.WriteLine($"{selector}: font-family {family}; drawn with {string.Join(", ", fonts.Select(f => $"{f.Family} ({f.Glyphs} glyphs)"))}");
            AssertDrawnInChinese(text, fonts);
        }
    }

    static void AssertDrawnInChinese(string text, List<(string Family, int Glyphs)> fonts)
    {
        int han = Regex.Matches(text, @"\p{IsCJKUnifiedIdeographs}").Count;
        Assert.True(fonts.Any(f => ChineseFonts.Contains(f.Family) && f.Glyphs >= han),
            $"the {han} Chinese characters of \"{text}\" were drawn with {string.Join(", ", fonts.Select(f => $"{f.Family} ({f.Glyphs} glyphs)"))}, not with one of {string.Join(", ", ChineseFonts)}");
    }

    /// <summary>True when fontconfig knows Noto Sans CJK TC; otherwise false with a note, or a failure in CI.</summary>
    bool ChineseFontInstalled()
    {
        string fonts = "";
        try
        {
            var (finished, _, log, _) = NotebookProcess.Capture(new ProcessStartInfo("fc-list", ":family") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false },
                TimeSpan.FromMinutes(1));
            if (finished) fonts = log;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no fontconfig
        }
        if (fonts.Contains("Noto Sans CJK TC", StringComparison.Ordinal)) return true;
        NotChecked("Noto Sans CJK TC is not installed, so the page's Chinese font was not checked in a browser. Install it with: apt-get install -y fonts-noto-cjk");
        return false;
    }

    /// <summary>True when Chromium is on PATH; otherwise false with a note, or a failure in CI.</summary>
    bool ChromiumInstalled()
    {
        if (FindChromium() is not null) return true;
        NotChecked("chromium is not on PATH, so the page was not checked in a browser. Install it with: apt-get install -y chromium");
        return false;
    }

    void NotChecked(string what)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(what);
        output.WriteLine("NOT CHECKED: " + what);
    }

    /// <summary>The computed font-family of the first <paramref name="selector"/> on the page and the fonts Chromium drew
    /// its text with (DevTools' CSS.getPlatformFontsForNode), the page opened offline.</summary>
    (string Family, List<(string Family, int Glyphs)> Fonts) Fonts(string html, string selector)
    {
        string dir = Directory.CreateTempSubdirectory("kd-html-").FullName;
        string page = Path.Combine(dir, "page.html");
        File.WriteAllText(page, html);
        using var chromium = Process.Start(ChromiumStart(FindChromium()!, dir, "--remote-debugging-port=0", "about:blank"))!;
        try
        {
            // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" to standard error.
            var listening = new TaskCompletionSource<string>();
            chromium.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line && line.StartsWith("DevTools listening on ", StringComparison.Ordinal)) listening.TrySetResult(line["DevTools listening on ".Length..].Trim());
            };
            chromium.OutputDataReceived += (_, _) => { };
            chromium.BeginErrorReadLine();
            chromium.BeginOutputReadLine();
            Assert.True(listening.Task.Wait(TimeSpan.FromMinutes(1)), "chromium did not open its DevTools port");
            using var devTools = new DevTools(new Uri(listening.Task.Result));
            string url = new Uri(page).AbsoluteUri;
            string target = devTools.Send("Target.createTarget", new JsonObject { ["url"] = url })["targetId"]!.GetValue<string>();
            devTools.Session = devTools.Send("Target.attachToTarget", new JsonObject { ["targetId"] = target, ["flatten"] = true })["sessionId"]!.GetValue<string>();
            // Wait for the page (not the about:blank before it) to load and its fonts to be ready; while it navigates,
            // the evaluation may fail with "Execution context was destroyed".
            var clock = Stopwatch.StartNew();
            while (devTools.TrySend("Runtime.evaluate", new JsonObject { ["expression"] = "document.fonts.ready.then(() => location.href + ' ' + document.readyState)", ["awaitPromise"] = true, ["returnByValue"] = true })
                       ?["result"]?["value"]?.GetValue<string>() != url + " complete")
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the page did not finish loading");
                Thread.Sleep(100);
            }
            string family = devTools.Send("Runtime.evaluate", new JsonObject
            {
                ["expression"] = $"getComputedStyle(document.querySelector({JsonValue.Create(selector).ToJsonString()})).fontFamily",
                ["returnByValue"] = true,
            })["result"]!["value"]!.GetValue<string>();
            devTools.Send("DOM.enable");
            devTools.Send("CSS.enable");
            int root = devTools.Send("DOM.getDocument")["root"]!["nodeId"]!.GetValue<int>();
            int node = devTools.Send("DOM.querySelector", new JsonObject { ["nodeId"] = root, ["selector"] = selector })["nodeId"]!.GetValue<int>();
            var fonts = devTools.Send("CSS.getPlatformFontsForNode", new JsonObject { ["nodeId"] = node })["fonts"]!.AsArray()
                .Select(f => (f!["familyName"]!.GetValue<string>(), f["glyphCount"]!.GetValue<int>())).ToList();
            return (family, fonts);
        }
        finally
        {
            if (!chromium.HasExited) chromium.Kill(entireProcessTree: true);
            chromium.WaitForExit();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } // Chromium may still hold its profile
        }
    }

    /// <summary>A minimal client of Chromium's DevTools protocol: one command at a time, events skipped.</summary>
    sealed class DevTools : IDisposable
    {
        readonly ClientWebSocket socket = new();
        int id;

        public DevTools(Uri browser) => socket.ConnectAsync(browser, CancellationToken.None).Wait(TimeSpan.FromMinutes(1));

        /// <summary>The page's session (Target.attachToTarget); commands go to the browser while it is null.</summary>
        public string? Session { get; set; }

        public JsonNode Send(string method, JsonObject? parameters = null)
        {
            var (result, error) = Call(method, parameters);
            if (error is not null) Assert.Fail($"DevTools {method}: {error}");
            return result!;
        }

        /// <summary>The command's result, or null when it failed.</summary>
        public JsonNode? TrySend(string method, JsonObject? parameters = null) => Call(method, parameters).Result;

        (JsonNode? Result, string? Error) Call(string method, JsonObject? parameters)
        {
            var message = new JsonObject { ["id"] = ++id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
            if (Session is not null) message["sessionId"] = Session;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token).GetAwaiter().GetResult();
            while (true)
            {
                var reply = JsonNode.Parse(Receive(timeout.Token))!;
                if (reply["id"]?.GetValue<int>() != id) continue; // an event
                return reply["error"] is { } error ? (null, error.ToJsonString()) : (reply["result"], null);
            }
        }

        string Receive(CancellationToken cancel)
        {
            var text = new MemoryStream();
            var buffer = new byte[64 * 1024];
            WebSocketReceiveResult part;
            do
            {
                part = socket.ReceiveAsync(buffer, cancel).GetAwaiter().GetResult();
                text.Write(buffer, 0, part.Count);
            } while (!part.EndOfMessage);
            return Encoding.UTF8.GetString(text.ToArray());
        }

        public void Dispose() => socket.Dispose();
    }

    static ProcessStartInfo ChromiumStart(string chromium, string dir, params string[] args)
    {
        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + Path.Combine(dir, "profile"),
                     // No network: every connection goes to a closed local port, every host name fails to resolve.
                     "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                 }.Concat(args))
            start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>The page's DOM after Chromium has loaded it and run its scripts, or null (with a note) when Chromium is
    /// not installed outside CI.</summary>
    string? DumpDom(string html)
    {
        if (!ChromiumInstalled()) return null;
        string chromium = FindChromium()!;

        string dir = Directory.CreateTempSubdirectory("kd-html-").FullName;
        try
        {
            string page = Path.Combine(dir, "page.html");
            File.WriteAllText(page, html);
            var start = ChromiumStart(chromium, dir, "--virtual-time-budget=10000", "--dump-dom", new Uri(page).AbsoluteUri);
            var (finished, exitCode, log, elapsed) = NotebookProcess.Capture(start, TimeSpan.FromMinutes(2));
            Assert.True(finished && exitCode == 0, $"chromium failed (exit {exitCode}, {elapsed.TotalSeconds:0} s):\n{Tail(log)}");
            Assert.Contains("</html>", log);
            return log;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } // Chromium may still hold its profile
        }
    }

    static string? FindChromium() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { "chromium", "chromium-browser", "chromium.exe" }.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    static string Tail(string log) => log.Length <= 3000 ? log : "..." + log[^3000..];
}
