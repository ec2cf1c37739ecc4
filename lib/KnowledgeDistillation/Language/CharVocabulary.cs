using System.Text;

namespace KnowledgeDistillation.Language;

/// <summary>
/// A character-level vocabulary: each character is one token. Token 0 is the pad token (shown as <c>_</c>) and token 1
/// the end token (the newline, <c>\n</c>); the rest are the characters of the task.
/// </summary>
/// <remarks>
/// <see cref="Default"/> covers the addition task of <see cref="AdditionTask"/>: digits, <c>+</c>, <c>*</c>, <c>=</c>,
/// the step separator <c>;</c>, a space and the letters of <c>ans</c>, 20 tokens in all. A character-level vocabulary
/// keeps every step of the chain of thought visible, one token per character, with no tokenizer to learn.
/// </remarks>
public sealed class CharVocabulary
{
    /// <summary>The character shown for the pad token.</summary>
    public const char PadChar = '_';

    /// <summary>The end token's character: a newline ends every example.</summary>
    public const char EndChar = '\n';

    readonly char[] characters;
    readonly Dictionary<char, int> ids;

    /// <summary>Creates a vocabulary of the pad token, the end token and <paramref name="characters"/>, in that order.</summary>
    /// <exception cref="ArgumentException">A character repeats, or is the pad or end character.</exception>
    public CharVocabulary(string characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        this.characters = [PadChar, EndChar, .. characters];
        ids = [];
        for (int i = 0; i < this.characters.Length; i++)
        {
            char c = this.characters[i];
            if (!ids.TryAdd(c, i))
                throw new ArgumentException($"The character {Describe(c)} appears twice (the pad '{PadChar}' and the end '\\n' are added for you).", nameof(characters));
        }
    }

    /// <summary>The vocabulary of the addition task: pad, end, <c>0123456789+*=; ans</c>.</summary>
    public static CharVocabulary Default { get; } = new("0123456789+*=; ans");

    /// <summary>The number of tokens, pad and end included.</summary>
    public int Size => characters.Length;

    /// <summary>The pad token's id, 0.</summary>
    public int PadId => 0;

    /// <summary>The end token's id, 1.</summary>
    public int EndId => 1;

    /// <summary>The characters by id.</summary>
    public IReadOnlyList<char> Characters => characters;

    /// <summary>Whether <paramref name="c"/> has a token.</summary>
    public bool Contains(char c) => ids.ContainsKey(c);

    /// <summary>The token ids of <paramref name="text"/>, one per character.</summary>
    /// <exception cref="ArgumentException">A character has no token; the message names it and its position.</exception>
    public long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new long[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!ids.TryGetValue(text[i], out int id))
                throw new ArgumentException(
                    $"The character {Describe(text[i])} at position {i} of \"{Escape(text)}\" is not in the vocabulary; it knows \"{Escape(new string(characters))}\".", nameof(text));
            result[i] = id;
        }
        return result;
    }

    /// <summary>The text of <paramref name="tokens"/>.</summary>
    /// <param name="tokens">Token ids.</param>
    /// <param name="stopAtEnd">Stop before the first end token (and drop pads), as for a generated completion.</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in [0, <see cref="Size"/>).</exception>
    public string Decode(IEnumerable<long> tokens, bool stopAtEnd = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var text = new StringBuilder();
        foreach (long id in tokens)
        {
            if (id < 0 || id >= characters.Length)
                throw new ArgumentOutOfRangeException(nameof(tokens), id, $"Token id {id} is outside the vocabulary [0, {characters.Length}).");
            if (stopAtEnd && id == EndId) break;
            if (stopAtEnd && id == PadId) continue;
            text.Append(characters[id]);
        }
        return text.ToString();
    }

    static string Describe(char c) => $"'{Escape(c.ToString())}' (U+{(int)c:X4})";

    static string Escape(string s) => s.Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t");
}
