using System.Globalization;
using KnowledgeDistillation.Language;

namespace KnowledgeDistillation.Tests;

/// <summary>The character vocabulary and the addition task: encoding, correct chains and answers, disjoint splits.</summary>
public class LanguageTaskTests
{
    [Fact]
    public void Vocabulary_round_trips_every_task_text()
    {
        var vocabulary = CharVocabulary.Default;
        Assert.Equal(20, vocabulary.Size);
        var splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 200, Validation: 20, Test: 20));
        foreach (var p in splits.Train.Concat(splits.TestLonger))
            foreach (var format in Enum.GetValues<ReasoningFormat>())
            {
                string text = p.Text(format);
                Assert.Equal(text, vocabulary.Decode(vocabulary.Encode(text)));
            }
    }

    [Fact]
    public void Vocabulary_names_an_unknown_character_and_its_position()
    {
        var e = Assert.Throws<ArgumentException>(() => CharVocabulary.Default.Encode("12-4="));
        Assert.Contains("'-'", e.Message);
        Assert.Contains("position 2", e.Message);
        Assert.Contains("not in the vocabulary", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CharVocabulary.Default.Decode([99]));
        Assert.Throws<ArgumentException>(() => new CharVocabulary("0123+1"));
    }

    [Fact]
    public void Decoding_a_completion_stops_at_the_end_token_and_drops_pads()
    {
        var v = CharVocabulary.Default;
        long[] ids = [.. v.Encode("ans 12"), v.EndId, .. v.Encode("99"), v.PadId];
        Assert.Equal("ans 12", v.Decode(ids, stopAtEnd: true));
        Assert.Equal("ans 12\n99_", v.Decode(ids));
    }

    [Fact]
    public void Chain_of_thought_example()
    {
        var p = new AdditionProblem(47, 85);
        Assert.Equal("47+85=", p.Prompt);
        Assert.Equal("7+5+0=12;4+8+1=13;ans 132", p.Chain());
        Assert.Equal("132", p.Completion(ReasoningFormat.AnswerOnly));
        Assert.Equal("47+85=132\n", p.Text(ReasoningFormat.AnswerOnly));
        Assert.Equal("5+0+0=05;0+1+0=01;0+2+0=02;ans 215", new AdditionProblem(5, 210).Chain());
        Assert.Equal("9+9+0=18;9+0+1=10;ans 108", new AdditionProblem(99, 9).Chain());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Chains_and_answers_agree_with_schoolbook_addition_on_strings(int seed)
    {
        var splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Seed: seed, Train: 400, Validation: 50, Test: 50, MaxDigits: 4, HeldOutDigits: 6));
        foreach (var p in splits.Train.Concat(splits.TestLonger))
        {
            // Independent check: digit strings added right to left, the carry tracked by hand.
            string a = p.A.ToString(CultureInfo.InvariantCulture), b = p.B.ToString(CultureInfo.InvariantCulture);
            int columns = Math.Max(a.Length, b.Length);
            string[] steps = p.Chain().Split(';');
            Assert.Equal(columns + 1, steps.Length);
            int carry = 0;
            var digits = new List<char>();
            for (int c = 0; c < columns; c++)
            {
                int da = c < a.Length ? a[a.Length - 1 - c] - '0' : 0, db = c < b.Length ? b[b.Length - 1 - c] - '0' : 0;
                int s = da + db + carry;
                Assert.Equal($"{da}+{db}+{carry}={s / 10}{s % 10}", steps[c]);
                digits.Insert(0, (char)('0' + s % 10));
                carry = s / 10;
            }
            if (carry == 1) digits.Insert(0, '1');
            string expected = new(digits.ToArray());
            Assert.Equal("ans " + expected, steps[^1]);
            Assert.Equal(expected, p.Completion(ReasoningFormat.AnswerOnly));
            Assert.True(p.IsCorrect(p.Chain()));
            Assert.True(p.IsCorrect(p.Completion(ReasoningFormat.AnswerOnly)));
        }
    }

    [Fact]
    public void Splits_are_disjoint_reproducible_and_the_held_out_numbers_are_longer()
    {
        var options = new AdditionSplitOptions(Seed: 7, Train: 3000, Validation: 300, Test: 300);
        var splits = AdditionTask.CreateSplits(options);
        var all = new[] { splits.Train, splits.Validation, splits.Test, splits.TestLonger };
        Assert.Equal(all.Sum(s => s.Count), all.SelectMany(s => s).Distinct().Count());
        Assert.All(splits.Train.Concat(splits.Validation).Concat(splits.Test), p => Assert.InRange(p.Digits, 1, 3));
        Assert.All(splits.TestLonger, p =>
        {
            Assert.InRange(p.A, 1000, 9999);
            Assert.InRange(p.B, 1000, 9999);
        });
        Assert.Contains(splits.Train, p => p.Digits == 1);
        Assert.Contains(splits.Train, p => p.Digits == 3);
        Assert.Equal(splits.Train, AdditionTask.CreateSplits(options).Train);
        Assert.NotEqual(splits.Train, AdditionTask.CreateSplits(options with { Seed = 8 }).Train);
    }

    [Fact]
    public void Bad_split_options_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AdditionTask.CreateSplits(new AdditionSplitOptions(MaxDigits: 3, HeldOutDigits: 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 0)));
        var e = Assert.Throws<ArgumentException>(() => AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 4000, MaxDigits: 1, HeldOutDigits: 2)));
        Assert.Contains("too many", e.Message);
    }

    [Theory]
    [InlineData("7+5+0=12;4+8+1=13;ans 132", 132L)]
    [InlineData("132", 132L)]
    [InlineData("ans 1\nans 2", 1L)]
    [InlineData("ans 13x", null)]
    [InlineData("7+5+0=12;", null)]
    [InlineData("", null)]
    [InlineData("ans ", null)]
    public void The_final_answer_is_extracted_or_refused(string completion, long? expected) =>
        Assert.Equal(expected, AdditionTask.ExtractAnswer(completion));
}
