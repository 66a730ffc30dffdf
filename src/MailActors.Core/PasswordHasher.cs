using System.Security.Cryptography;
using System.Text;

namespace MailActors.Core;

/// <summary>
/// PBKDF2-HMAC-SHA256 with a random salt, stored as "pbkdf2-sha256$iterations$salt$hash"
/// (base64) so the cost can be raised later without breaking old hashes.
/// </summary>
public static class PasswordHasher
{
    public const int MinIterations = 100_000;
    public const int DefaultIterations = 210_000;
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (iterations < MinIterations) throw new ArgumentOutOfRangeException(nameof(iterations), $"at least {MinIterations} iterations");
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>The password policy: a reason the password is refused, or null.</summary>
    public static string? CheckPolicy(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < 10) return "a password has at least 10 characters";
        if (password.Length > 1024) return "a password has at most 1024 characters";
        if (password.Any(char.IsControl)) return "a password can't contain control characters";
        return null;
    }
}
