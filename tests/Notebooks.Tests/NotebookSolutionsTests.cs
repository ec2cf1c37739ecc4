using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// The exercises' hidden solutions (solutions/NN-topic.md): the committed notebooks hold only stubs, every stub has a
/// solution and at least one wrong answer, and the parser, the pairing and the filling-in behave as documented. The
/// harness (<see cref="NotebookHarnessTests"/>) runs the solutions and wrong answers in the kernel.
/// </summary>
public partial class NotebookSolutionsTests
{
    public static TheoryData<string> Notebooks() => [.. NotebookFiles.All().Select(Path.GetFileName).OfType<string>()];

    static string NotebookJson(string name) => File.ReadAllText(Path.Combine(NotebookFiles.Directory, name));

    /// <summary>A notebook JSON with the given code cells, each after a markdown cell.</summary>
    static string Notebook(params string[] code)
    {
        var cells = new JsonArray();
        foreach (var c in code)
        {
            cells.Add(new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = new JsonArray("Why.") });
            cells.Add(new JsonObject { ["cell_type"] = "code", ["metadata"] = new JsonObject(), ["outputs"] = new JsonArray(), ["source"] = c });
        }
        return new JsonObject { ["cells"] = cells, ["nbformat"] = 4, ["nbformat_minor"] = 2, ["metadata"] = new JsonObject() }.ToJsonString();
    }

    const string Stub = "Tensor MyEntropy(Tensor p)\n{\n    // your answer: H(p)\n    throw new NotImplementedException();\n}\n\nConsole.WriteLine(SoftLabelChecks.CheckEntropy(MyEntropy));";

    const string File1 = """
        # Solutions · test

        ## Exercise 1 · entropy

        ```csharp solution
        Tensor MyEntropy(Tensor p)
        {
            return -p.xlogy(p).sum(-1);
        }
        ```

        Mistake: NaN at zero.

        ```csharp mistake "0 · log 0"
        Tensor MyEntropy(Tensor p)
        {
            return -(p * p.log()).sum(-1);
        }
        ```

        ## Exercise 2 · a value

        ```csharp solution
        string myPrediction = "left";
        ```
        """;

    [Fact]
    public void Parse_reads_titles_solutions_mistakes_and_their_expected_text()
    {
        var solutions = NotebookSolutions.Parse(File1);
        Assert.Equal(2, solutions.Count);
        Assert.Equal("Exercise 1 · entropy", solutions[0].Title);
        Assert.Equal("Tensor MyEntropy(", solutions[0].Key);
        Assert.StartsWith("Tensor MyEntropy(Tensor p)\n{\n    return -p.xlogy(p)", solutions[0].Code);
        var mistake = Assert.Single(solutions[0].Mistakes);
        Assert.Equal("0 · log 0", mistake.Expect);
        Assert.Equal("Mistake: NaN at zero.", mistake.Description);
        Assert.Equal("string myPrediction =", solutions[1].Key);
        Assert.Empty(solutions[1].Mistakes);
    }

    [Theory]
    [InlineData("## A\n\n```csharp mistake \"x\"\nint a = 1;\n```\n", "'A' has no ```csharp solution block")]
    [InlineData("```csharp solution\nint a = 1;\n```\n", "before the first '## ' heading")]
    [InlineData("## A\n```csharp solution\nint a = 1;\n```\n```csharp solution\nint a = 2;\n```\n", "a second solution block")]
    [InlineData("## A\n```csharp solution\nint a = 1;\n```\n```csharp mistake\nint a = 2;\n```\n", "needs the text its check must print")]
    [InlineData("## A\n```csharp solution\nint a = 1;\n```\n```csharp mistake \"t\"\nint b = 2;\n```\n", "declares 'int b =', not 'int a ='")]
    [InlineData("## A\n```csharp solution\nint a = 1;\n", "not closed")]
    [InlineData("## A\n```csharp solution\n// only a comment\n```\n", "does not start with a declaration")]
    public void Parse_names_the_problem_in_a_malformed_file(string markdown, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => NotebookSolutions.Parse(markdown, "bad.md"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("bad.md", e.Message);
    }

    [Theory]
    [InlineData("Tensor MyEntropy(Tensor p)", "Tensor MyEntropy(")]
    [InlineData("(long Parameters, long Flops) MyConvCost(long cin, long cout)", "(long Parameters, long Flops) MyConvCost(")]
    [InlineData("IReadOnlyList<int> MyFilter(IReadOnlyList<AdditionProblem> problems)", "IReadOnlyList<int> MyFilter(")]
    [InlineData("string myPrediction = \"\"; // your answer", "string myPrediction =")]
    [InlineData("int  batchSize  = 0;", "int batchSize =")]
    [InlineData("    // your answer: H(p) = −Σ p log p", null)]
    [InlineData("{", null)]
    public void Key_is_the_declaration_up_to_its_name(string line, string? key) => Assert.Equal(key, NotebookSolutions.Key(line));

    [Fact]
    public void Exercises_finds_the_marked_cells_and_fill_replaces_only_the_answer()
    {
        var json = Notebook("var x = 1;", Stub, "string myPrediction = \"\"; // your answer: left or right\nConsole.WriteLine(myPrediction);");
        var cells = NotebookSolutions.Exercises(json);
        Assert.Equal(2, cells.Count);
        Assert.Equal((4, "Tensor MyEntropy("), (cells[0].CellNumber, cells[0].Key));
        Assert.Equal("Tensor MyEntropy(Tensor p)\n{\n    // your answer: H(p)\n    throw new NotImplementedException();\n}", cells[0].Answer);
        Assert.Equal("string myPrediction =", cells[1].Key);

        var solutions = NotebookSolutions.Parse(File1);
        string filled = NotebookSolutions.Fill(cells[0], solutions[0].Code);
        Assert.Equal(solutions[0].Code + "\n\nConsole.WriteLine(SoftLabelChecks.CheckEntropy(MyEntropy));", filled);
        Assert.Equal("string myPrediction = \"left\";\nConsole.WriteLine(myPrediction);", NotebookSolutions.Fill(cells[1], solutions[1].Code));
        Assert.Throws<ArgumentException>(() => NotebookSolutions.Fill(cells[1], solutions[0].Code));
    }

    [Fact]
    public void Solve_fills_every_exercise_and_trials_pair_each_with_its_solution_and_mistakes()
    {
        var json = Notebook(Stub, "string myPrediction = \"\"; // your answer\nConsole.WriteLine(myPrediction);");
        var solutions = NotebookSolutions.Parse(File1);
        var solved = NotebookSolutions.Solve(json, solutions);
        Assert.Empty(NotebookSolutions.Exercises(solved)); // no "// your answer" line is left
        Assert.Contains("return -p.xlogy(p).sum(-1);", solved);
        Assert.DoesNotContain("NotImplementedException", solved);

        var trials = NotebookSolutions.Trials(json, solutions);
        Assert.Equal([ExerciseVerdict.Correct, ExerciseVerdict.Wrong, ExerciseVerdict.Correct], trials.Select(t => t.Expected));
        Assert.Equal("0 · log 0", trials[1].Fragment);
        Assert.Contains("return -(p * p.log()).sum(-1);", trials[1].Code);
        Assert.EndsWith("Console.WriteLine(SoftLabelChecks.CheckEntropy(MyEntropy));", trials[1].Code);
        Assert.Equal("cell 2, Tensor MyEntropy: the mistake \"Mistake: NaN at zero.\"", trials[1].Label);
    }

    [Fact]
    public void Pairing_fails_on_a_missing_or_an_unused_solution()
    {
        var solutions = NotebookSolutions.Parse(File1);
        var missing = Assert.Throws<InvalidDataException>(() => NotebookSolutions.Solve(Notebook(Stub, "double MyT(double a)\n{\n    // your answer\n    throw new NotImplementedException();\n}"), solutions));
        Assert.Contains("cell 4 asks for 'double MyT(', and the solutions file has no solution for it.", missing.Message);
        var unused = Assert.Throws<InvalidDataException>(() => NotebookSolutions.Solve(Notebook(Stub), solutions));
        Assert.Contains("the solution 'Exercise 2 · a value' fills in 'string myPrediction =', which no exercise cell asks for.", unused.Message);
    }

    [Theory]
    [InlineData("Correct: well done.", ExerciseVerdict.Correct)]
    [InlineData("Reverse KL ends at μ = -1\nNot yet: you predicted right.", ExerciseVerdict.Wrong)]
    [InlineData("Not attempted yet: MyKl still throws NotImplementedException.", ExerciseVerdict.NotAttempted)]
    [InlineData("Not yet, 2 things to fix:\n  1. You normalised the rows.\n  2. The rows are not normalised.", ExerciseVerdict.Wrong)]
    [InlineData("something else", null)]
    [InlineData("正確：做得好。", ExerciseVerdict.Correct)]
    [InlineData("反向 KL 停在 μ = -1\n還不對：你的預測是對的。", ExerciseVerdict.Wrong)]
    [InlineData("尚未作答：MyKl 仍然擲出 NotImplementedException。", ExerciseVerdict.NotAttempted)]
    [InlineData("還不對，有 2 個地方要修正：\n  1. 你把列正規化了。", ExerciseVerdict.Wrong)]
    [InlineData("正確答案是 3", null)]
    public void Verdict_reads_the_last_verdict_line(string output, ExerciseVerdict? verdict) => Assert.Equal(verdict, NotebookSolutions.Verdict(output));

    [Fact]
    public void Relocate_rewrites_library_paths_and_upward_links_only()
    {
        var json = Notebook("#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#load \"../lib/LibraryBuild.csx\"", "#r \"../lib/A/bin/A.dll\"\nvar a = \"../lib/x\";");
        var node = JsonNode.Parse(json)!;
        node["cells"]![0]!["source"] = new JsonArray("See [the README](../README.md) and [01](01-x.ipynb).");
        string from = Path.Combine(NotebookFiles.RepoRoot, "notebooks"), to = Path.Combine(NotebookFiles.RepoRoot, "artifacts", "solved");
        var moved = JsonNode.Parse(NotebookSolutions.Relocate(node.ToJsonString(), from, to))!["cells"]!.AsArray();
        string Source(int i) => string.Concat(moved[i]!["source"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("See [the README](../../README.md) and [01](01-x.ipynb).", Source(0));
        Assert.Equal("#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#load \"../../lib/LibraryBuild.csx\"", Source(1));
        Assert.Equal("#r \"../../lib/A/bin/A.dll\"\nvar a = \"../lib/x\";", Source(3));
    }

    // The committed notebooks and solutions/.

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_exercise_cell_holds_only_its_stub_and_has_a_solution_and_a_wrong_answer(string name)
    {
        var json = NotebookJson(name);
        var solutions = NotebookSolutions.LoadFor(Path.Combine(NotebookFiles.Directory, name));
        var pairs = NotebookSolutions.Pair(json, solutions); // throws, naming the cell, when one is missing or unused
        foreach (var (cell, solution) in pairs)
        {
            var lines = cell.Answer.Split('\n');
            bool stub = lines.Length == 1
                ? StubValue().IsMatch(lines[0])
                : lines[1..].All(l => l.Trim() is "{" or "}" or "throw new NotImplementedException();" || l.TrimStart().StartsWith("//", StringComparison.Ordinal));
            Assert.True(stub, $"{name}, cell {cell.CellNumber}: an exercise cell must hold a stub (a body that only throws NotImplementedException, " +
                              $"or a value of 0 or \"\"), not an answer:{Environment.NewLine}{cell.Answer}");
            Assert.NotEqual(solution.Code.Trim(), cell.Answer.Trim());
            Assert.True(solution.Mistakes.Count > 0, $"{name}: '{solution.Title}' needs at least one wrong answer for the harness to run against its check.");
            // Nor anywhere else in the cell: no line of the solution's body is in it.
            foreach (var line in solution.Code.Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 12))
                Assert.False(cell.Source.Contains(line, StringComparison.Ordinal), $"{name}, cell {cell.CellNumber}: the solution's line '{line}' is in the exercise cell.");
        }
    }

    [Fact]
    public void Every_solutions_file_belongs_to_a_notebook()
    {
        var notebooks = NotebookFiles.All().Select(Path.GetFileNameWithoutExtension).ToHashSet();
        var files = Directory.GetFiles(Path.Combine(NotebookFiles.RepoRoot, NotebookSolutions.FolderName), "*.md")
            .Select(Path.GetFileNameWithoutExtension).Where(f => f != "README").ToList();
        Assert.NotEmpty(files);
        foreach (var f in files) Assert.True(notebooks.Contains(f), $"solutions/{f}.md has no notebook notebooks/{f}.ipynb.");
        int exercises = NotebookFiles.All().Sum(n => NotebookSolutions.Exercises(File.ReadAllText(n)).Count);
        Assert.Equal(22, exercises); // 20 checks in the library (ExerciseStubTests) + two inline checks (00, 03)
    }

    [System.Text.RegularExpressions.GeneratedRegex("""^\S.*=\s*(0|""|null|default)\s*;\s*// your answer""")]
    private static partial System.Text.RegularExpressions.Regex StubValue();
}
