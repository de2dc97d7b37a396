"""Moving a business off its legacy system: `hub import FILE --type invoices|payments|customers`."""
