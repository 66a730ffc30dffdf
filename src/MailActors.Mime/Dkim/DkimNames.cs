using System.Globalization;
using System.Text.RegularExpressions;

namespace MailActors.Mime.Dkim;

/// <summary>Domain and selector names as they appear in d=, s= and DNS: lower-case A-labels.</summary>
internal static partial class DkimNames
{
    /// <summary>Lower-case, IDN-encoded, without a trailing dot; throws for anything that is not a host name.</summary>
    /// <remarks>The result names key files on disk, so strict validation also keeps "../" out of paths.</remarks>
    public static string Normalize(string name, string paramName) =>
        TryNormalize(name, out var ascii) ? ascii : throw new ArgumentException($"'{name}' is not a valid DNS name.", paramName);

    public static bool TryNormalize(string? name, out string ascii)
    {
        ascii = "";
        var trimmed = name?.Trim().TrimEnd('.');
        if (string.IsNullOrEmpty(trimmed)) return false;
        try
        {
            // Lower-case first: punycode of "BÜCHER" is not that of "bücher".
            ascii = new IdnMapping().GetAscii(trimmed.ToLowerInvariant());
        }
        catch (ArgumentException)
        {
            return false;
        }
        return ascii.Length <= 253 && HostName().IsMatch(ascii);
    }

    /// <summary>True when <paramref name="domain"/> is <paramref name="signingDomain"/> or below it (both normalized).</summary>
    public static bool IsWithin(string domain, string signingDomain) =>
        domain == signingDomain || domain.EndsWith("." + signingDomain, StringComparison.Ordinal);

    [GeneratedRegex(@"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostName();
}
