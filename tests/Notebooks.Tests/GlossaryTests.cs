using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// notebooks/glossary.md, the English ↔ Traditional Chinese glossary both editions link to: each row gives a term, its
/// zh-TW translation and a one-line definition in each language, and it covers every term the zh-TW notebooks gloss at
/// first use, <c>中文（English）</c>, so a learner who meets one can look it up.
/// </summary>
public partial class GlossaryTests
{
    static string GlossaryPath => Path.Combine(NotebookFiles.Directory, "glossary.md");

    /// <summary>One row of the glossary's tables, under the <c>## </c> heading <paramref name="Section"/>.</summary>
    sealed record Entry(int Line, string Anchor, string English, string Chinese, string Definition, string ChineseDefinition, string Section = "");

    static IReadOnlyList<Entry> Entries()
    {
        var entries = new List<Entry>();
        var lines = File.ReadAllLines(GlossaryPath);
        string section = "";
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal)) section = line[3..].Trim();
            if (!line.StartsWith("| ", StringComparison.Ordinal) || line.StartsWith("| English ", StringComparison.Ordinal) || line.StartsWith("| ---", StringComparison.Ordinal)) continue;
            var cells = CellSeparator().Split(line.Trim().Trim('|')).Select(c => c.Trim().Replace(@"\|", "|")).ToArray();
            Assert.True(cells.Length == 4, $"glossary.md, line {i + 1}: a row needs 4 cells (English | 中文 | Definition | 定義), not {cells.Length}: {line}");
            var anchor = AnchorTag().Match(cells[0]);
            Assert.True(anchor.Success, $"glossary.md, line {i + 1}: the English term starts with <a id=\"...\"></a>, so that the notebooks can link to it: {line}");
            entries.Add(new Entry(i + 1, anchor.Groups["id"].Value, cells[0][anchor.Length..].Trim(), cells[1], cells[2], cells[3], section));
        }
        return entries;
    }

    [Fact]
    public void Every_row_has_a_term_its_translation_and_a_definition_in_each_language()
    {
        var entries = Entries();
        Assert.True(entries.Count >= 100, $"only {entries.Count} glossary entries");
        foreach (var e in entries)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.English) || string.IsNullOrWhiteSpace(e.Chinese) || string.IsNullOrWhiteSpace(e.Definition),
                $"glossary.md, line {e.Line}: an empty cell");
            Assert.True(Han().IsMatch(e.ChineseDefinition), $"glossary.md, line {e.Line}: the 定義 of '{e.English}' has no Chinese: {e.ChineseDefinition}");
            Assert.False(Han().Replace(e.Definition, "").Length < e.Definition.Length / 2, $"glossary.md, line {e.Line}: the Definition of '{e.English}' is not English: {e.Definition}");
        }
        var twice = entries.GroupBy(e => e.Anchor).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"anchors used twice: {string.Join(", ", twice)}");
        var sameTerm = entries.GroupBy(e => Normalise(e.English)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(sameTerm.Count == 0, $"terms listed twice: {string.Join(", ", sameTerm)}");
    }

    /// <summary>Each section lists its terms in alphabetical order, so a reader finds a term and a writer sees whether it
    /// is there.</summary>
    [Fact]
    public void Each_section_is_in_alphabetical_order()
    {
        foreach (var section in Entries().GroupBy(e => e.Section))
        {
            var terms = section.Select(e => e.English.Trim('`').ToLowerInvariant()).ToList();
            var sorted = terms.Order(StringComparer.Ordinal).ToList();
            int first = terms.Zip(sorted).TakeWhile(p => p.First == p.Second).Count();
            Assert.True(first == terms.Count, $"glossary.md, section '{section.Key}': '{(first < terms.Count ? terms[first] : "")}' is out of alphabetical order (expected '{(first < sorted.Count ? sorted[first] : "")}' there).");
        }
    }

    /// <summary>The seed article writes 邏輯 for logits; the glossary says so, and what the tutorial writes instead.</summary>
    [Fact]
    public void The_seed_articles_word_for_logits_is_explained()
    {
        var logits = Assert.Single(Entries(), e => e.English == "logits");
        Assert.Contains("邏輯值", logits.Chinese);
        Assert.Contains("「邏輯」", logits.ChineseDefinition);
        Assert.Contains("邏輯", logits.Definition);
    }

    public static TheoryData<string> ChineseNotebooks() =>
        [.. NotebookFiles.All(NotebookEditions.TraditionalChinese).Select(Path.GetFileName).OfType<string>()];

    /// <summary>
    /// Every term a zh-TW notebook glosses, <c>中文（English）</c>, is in the glossary (<see cref="Covered"/>). Not looked
    /// up: the <see cref="NotTerms"/>, everyday words and names that the notebooks gloss only to help a reader match the
    /// Chinese to the English figures and tables.
    /// </summary>
    [Theory]
    [MemberData(nameof(ChineseNotebooks))]
    public void Every_term_a_zh_TW_notebook_glosses_is_in_the_glossary(string name)
    {
        var entries = Entries();
        var missing = new List<string>();
        var notebook = JsonNode.Parse(File.ReadAllText(Path.Combine(NotebookEditions.TraditionalChinese.Directory(NotebookFiles.RepoRoot), name)))!;
        int number = 0;
        foreach (var cell in notebook["cells"]!.AsArray().OfType<JsonObject>())
        {
            number++;
            if (cell["cell_type"]!.GetValue<string>() != "markdown") continue;
            foreach (Match m in Glossed().Matches(NotebookHygieneTests.Source(cell)))
            {
                string term = m.Groups["en"].Value.Trim(), before = m.Groups["zh"].Value;
                if (NotTerms.Contains(Normalise(term)) || Covered(term, before, entries)) continue;
                missing.Add($"cell {number}: {before}（{term}）");
            }
        }
        Assert.True(missing.Count == 0,
            $"zh-TW/{name} glosses terms that notebooks/glossary.md lacks; add a row for each (or, for an everyday word, add it to NotTerms):{Environment.NewLine}" +
            string.Join(Environment.NewLine, missing.Distinct()));
    }

    /// <summary>
    /// Whether the glossary has the term glossed as <paramref name="before"/>（<paramref name="term"/>）: an entry with the
    /// same English (singular or plural, with or without hyphens, or one of its forms in parentheses), or whose Chinese
    /// the text before the parenthesis ends with, or, for part of a longer term, an entry that starts or ends with the
    /// part in both languages (學生（student） for student model, 學生模型).
    /// </summary>
    static bool Covered(string term, string before, IEnumerable<Entry> entries)
    {
        var forms = EnglishForms(term).ToList();
        var endings = Enumerable.Range(0, Math.Max(0, before.Length - 1)).Select(start => before[start..]).ToList(); // two characters or more
        foreach (var entry in entries)
        {
            var english = EnglishForms(entry.English).ToList();
            var chinese = ChineseForms(entry.Chinese).ToList();
            if (forms.Any(english.Contains) || endings.Any(chinese.Contains)) return true;
            bool partInEnglish = forms.Any(f => english.Any(g => g.StartsWith(f + " ", StringComparison.Ordinal) || g.EndsWith(" " + f, StringComparison.Ordinal)));
            bool partInChinese = endings.Any(e => chinese.Any(c => c.Length > e.Length && (c.StartsWith(e, StringComparison.Ordinal) || c.EndsWith(e, StringComparison.Ordinal))));
            if (partInEnglish && partInChinese) return true;
        }
        return false;
    }

    /// <summary>The matcher finds a glossed term that is missing, and accepts one found by either language.</summary>
    [Fact]
    public void The_matcher_tells_a_listed_term_from_a_missing_one()
    {
        Entry[] glossary = [new(1, "student-model", "student model", "學生模型", "", ""), new(2, "cross-entropy-ce", "cross entropy (CE)", "交叉熵（CE）", "", ""),
                            new(3, "mean-squared-error-mse", "mean squared error (MSE)", "均方誤差（MSE）", "", "")];
        Assert.True(Covered("student models", "給學生模型", glossary));
        Assert.True(Covered("student", "傳給學生", glossary));   // part of a longer term in both languages
        Assert.True(Covered("CE", "即", glossary));                // a form in parentheses
        Assert.True(Covered("cross-entropy", "的", glossary));     // hyphens
        Assert.True(Covered("xent", "交叉熵", glossary));          // by its Chinese
        Assert.False(Covered("mean", "是平均值", glossary));       // the first word of an entry, but not in Chinese
        Assert.False(Covered("heatmap", "並以熱度圖", glossary));
        var all = Glossed().Matches("以梯度下降（gradient descent）更新，並以熱度圖（heatmap，見下圖）呈現；學生模型（student models）").Select(m => (m.Groups["zh"].Value, m.Groups["en"].Value)).ToList();
        Assert.Equal([("以梯度下降", "gradient descent"), ("並以熱度圖", "heatmap"), ("學生模型", "student models")], all);
        Assert.Contains("student model", EnglishForms("student models"));
        Assert.Contains("over fitting", EnglishForms("over-fitting"));
        Assert.Equal(["邏輯值", "logits"], ChineseForms("邏輯值（logits）"));
    }

    /// <summary>Words the zh-TW notebooks gloss that are not terms of the subject: Fashion-MNIST's classes and what they
    /// look like, people, and everyday words.</summary>
    static readonly HashSet<string> NotTerms = new(StringComparer.Ordinal)
    {
        // Fashion-MNIST's classes and descriptions of images
        "t shirt", "shirt", "pullover", "coat", "sandal", "sneaker", "ankle boot", "trouser", "bag", "footwear", "upper body clothing",
        "clear trouser", "confident shirt", "torn shirt", "the six lowest",
        // people
        "hinton", "chariton",
        // everyday words
        "code", "summary", "exercise", "exercises", "solution", "file", "folder", "message", "information", "example", "alternatives",
        "optional", "deprecated", "run", "train", "training", "data", "function", "regime",
    };

    static string Normalise(string term) => Spaces().Replace(term.ToLowerInvariant().Replace('-', ' ').Replace('’', '\'').Trim(), " ");

    /// <summary>A term's English forms: the term, its parts around a parenthesis, slash or comma (<c>cross entropy (CE)</c>
    /// gives <c>cross entropy</c> and <c>ce</c>), normalised, and each without a plural ending.</summary>
    static IEnumerable<string> EnglishForms(string term)
    {
        string plain = term.Replace("`", "");
        foreach (var part in new[] { plain }.Concat(plain.Split(['(', ')', '/', ','], StringSplitOptions.RemoveEmptyEntries)))
        {
            string n = Normalise(part);
            if (n.Length == 0) continue;
            yield return n;
            if (n.EndsWith("es", StringComparison.Ordinal)) yield return n[..^2];
            if (n.EndsWith('s')) yield return n[..^1];
            yield return n.Replace("ise", "ize").Replace("isa", "iza");
        }
    }

    /// <summary>A translation's Chinese forms: <c>邏輯值（logits）</c> gives <c>邏輯值</c> and <c>logits</c>; parts around
    /// 、 and / too.</summary>
    static IEnumerable<string> ChineseForms(string chinese) =>
        chinese.Replace("`", "").Split(['（', '）', '、', '/', '，'], StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()).Where(p => p.Length > 0);

    [GeneratedRegex(@"^<a id=""(?<id>[^""]+)""></a>")]
    private static partial Regex AnchorTag();

    /// <summary><c>中文（English term）</c> or <c>中文（English term，more）</c>: a run of Chinese, then an English term in full-width
    /// parentheses.</summary>
    [GeneratedRegex(@"(?<zh>[\p{IsCJKUnifiedIdeographs}]+)（(?<en>[A-Za-z][A-Za-z '\-]*?)\s*(?:[，,；;：][^）]*)?）")]
    private static partial Regex Glossed();

    [GeneratedRegex(@"[\p{IsCJKUnifiedIdeographs}]")]
    private static partial Regex Han();

    /// <summary>A table's cell separator: a | not escaped as \|.</summary>
    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex CellSeparator();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
