using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// The self-checks' messages in the learner's language, <see cref="KdEnvironment.Language"/>: every message is written
/// in English and in Traditional Chinese (Taiwan) side by side, <c>Say(en, zh)</c>, so that the two stay in step. Math,
/// identifiers, code, numbers and shapes are the same in both.
/// </summary>
static class Localized
{
    /// <summary>True when the learner reads Traditional Chinese.</summary>
    public static bool Chinese => KdEnvironment.Language == KdEnvironment.TraditionalChinese;

    /// <summary><paramref name="en"/> or <paramref name="zh"/>, by <see cref="KdEnvironment.Language"/>.</summary>
    public static string Say(string en, string zh) => Chinese ? zh : en;

    /// <summary><paramref name="name"/> followed by the space that separates it from the Chinese text after it: none
    /// after a Chinese name (「你的函式仍然…」), one after a Latin one (「MyKl 仍然…」).</summary>
    public static string Spaced(string name) => name.Length > 0 && IsCjk(name[^1]) ? name : name + " ";

    static bool IsCjk(char c) => c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF';
}
